package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/iam-watchdog/iam-watchdog/internal/sleep"
)

// DynamoDBAPI is the part of the DynamoDB client the store uses.
type DynamoDBAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ DynamoDBAPI = (*dynamodb.Client)(nil)

// DynamoDB is a Store in a DynamoDB table with a string partition key "pk" and TTL on
// "expires_at" (template.yaml creates it). Every claim is a conditional write, so two
// invocations racing on one event cannot both win.
type DynamoDB struct {
	API   DynamoDBAPI
	Table string
	Now   func() time.Time
}

func (d *DynamoDB) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *DynamoDB) item(e Entry) (map[string]types.AttributeValue, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return map[string]types.AttributeValue{
		"pk":          &types.AttributeValueMemberS{Value: e.Key},
		"stage":       &types.AttributeValueMemberS{Value: string(e.Stage)},
		"owner":       &types.AttributeValueMemberS{Value: e.Owner},
		"lease_until": num(e.LeaseUntil.UnixMilli()),
		"expires_at":  num(e.ExpiresAt.Unix()),
		"version":     num(e.Version),
		"data":        &types.AttributeValueMemberS{Value: string(data)},
	}, nil
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func isConditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

// Claim implements Store.
func (d *DynamoDB) Claim(ctx context.Context, e Entry, lease time.Duration) (Entry, error) {
	now := d.now()
	e.Stage, e.UpdatedAt, e.LeaseUntil, e.ExpiresAt = Claimed, now, now.Add(lease), now.Add(Retention)
	e.Version = 1
	item, err := d.item(e)
	if err != nil {
		return Entry{}, err
	}
	_, err = d.API.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &d.Table,
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err == nil {
		return e, nil
	}
	if !isConditionFailed(err) {
		return Entry{}, fmt.Errorf("claim %s in %s: %w", e.Key, d.Table, err)
	}
	old, err := d.Get(ctx, e.Key)
	if err != nil {
		return Entry{}, err
	}
	if old.Stage == Alerted {
		return old, ErrDone
	}
	if old.Owner != e.Owner && now.Before(old.LeaseUntil) {
		return old, ErrBusy
	}
	// Take the expired claim over, on condition that nobody else did meanwhile.
	taken := old
	taken.Owner, taken.LeaseUntil, taken.UpdatedAt = e.Owner, e.LeaseUntil, now
	taken.Version = old.Version + 1
	data, err := json.Marshal(taken)
	if err != nil {
		return Entry{}, err
	}
	_, err = d.API.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &d.Table,
		Key:              map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: e.Key}},
		UpdateExpression: aws.String("SET #owner = :me, lease_until = :until, #data = :data, #version = :version"),
		// The version too: a takeover writes back the entry as read, so a change made since
		// (a finding joining this one's burst) must make it fail rather than be lost.
		ConditionExpression: aws.String("#owner = :old AND lease_until = :oldUntil AND " + versionIs(old.Version)),
		ExpressionAttributeNames: map[string]string{
			"#owner": "owner", "#data": "data", "#version": "version",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":me":       &types.AttributeValueMemberS{Value: e.Owner},
			":until":    num(e.LeaseUntil.UnixMilli()),
			":data":     &types.AttributeValueMemberS{Value: string(data)},
			":version":  num(taken.Version),
			":old":      &types.AttributeValueMemberS{Value: old.Owner},
			":oldUntil": num(old.LeaseUntil.UnixMilli()),
			":read":     num(old.Version),
		},
	})
	if isConditionFailed(err) {
		return old, ErrBusy
	}
	if err != nil {
		return Entry{}, fmt.Errorf("take over %s in %s: %w", e.Key, d.Table, err)
	}
	return taken, nil
}

// Save implements Store.
func (d *DynamoDB) Save(ctx context.Context, e Entry) error {
	e.UpdatedAt = d.now()
	read := e.Version
	e.Version++
	item, err := d.item(e)
	if err != nil {
		return err
	}
	_, err = d.API.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                &d.Table,
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(pk) OR (#owner = :me AND " + versionIs(read) + ")"),
		ExpressionAttributeNames: map[string]string{"#owner": "owner", "#version": "version"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":me": &types.AttributeValueMemberS{Value: e.Owner}, ":read": num(read),
		},
	})
	if isConditionFailed(err) {
		return ErrLost
	}
	if err != nil {
		return fmt.Errorf("save %s in %s: %w", e.Key, d.Table, err)
	}
	return nil
}

// Get implements Store.
func (d *DynamoDB) Get(ctx context.Context, key string) (Entry, error) {
	out, err := d.API.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &d.Table,
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Entry{}, fmt.Errorf("read %s from %s: %w", key, d.Table, err)
	}
	if out.Item == nil {
		return Entry{}, ErrNotFound
	}
	s, ok := out.Item["data"].(*types.AttributeValueMemberS)
	if !ok {
		return Entry{}, fmt.Errorf("read %s from %s: item has no data attribute", key, d.Table)
	}
	var e Entry
	if err := json.Unmarshal([]byte(s.Value), &e); err != nil {
		return Entry{}, fmt.Errorf("read %s from %s: %w", key, d.Table, err)
	}
	return e, nil
}

// versionIs is a condition that holds when the item is still at version read (bound to :read);
// items written before versions were kept have none, which is version 0.
func versionIs(read int64) string {
	if read == 0 {
		return "(attribute_not_exists(#version) OR #version = :read)"
	}
	return "#version = :read"
}

// Update implements Store with optimistic concurrency: a conditional put on the version read.
// A lost race is retried after a short jittered pause, so that a burst of writers to one entry
// (flood control) spreads out instead of colliding in lockstep.
func (d *DynamoDB) Update(ctx context.Context, key string, change func(*Entry) error) (Entry, error) {
	for attempt := range maxUpdateAttempts {
		old, err := d.Get(ctx, key)
		exists := err == nil
		switch {
		case errors.Is(err, ErrNotFound):
			old = Entry{Meta: Meta{Key: key}}
		case err != nil:
			return Entry{}, err
		}
		e := old.clone()
		if err := change(&e); err != nil {
			return old, err
		}
		now := d.now()
		e.Key, e.Version, e.UpdatedAt = key, old.Version+1, now
		if e.ExpiresAt.IsZero() {
			e.ExpiresAt = now.Add(Retention)
		}
		item, err := d.item(e)
		if err != nil {
			return Entry{}, err
		}
		in := &dynamodb.PutItemInput{TableName: &d.Table, Item: item}
		if exists {
			in.ConditionExpression = aws.String(versionIs(old.Version))
			in.ExpressionAttributeNames = map[string]string{"#version": "version"}
			in.ExpressionAttributeValues = map[string]types.AttributeValue{":read": num(old.Version)}
		} else {
			in.ConditionExpression = aws.String("attribute_not_exists(pk)")
		}
		_, err = d.API.PutItem(ctx, in)
		if err == nil {
			return e, nil
		}
		if !isConditionFailed(err) {
			return Entry{}, fmt.Errorf("update %s in %s: %w", key, d.Table, err)
		}
		if err := updateBackoff.Wait(ctx, attempt); err != nil {
			return Entry{}, err
		}
	}
	return Entry{}, fmt.Errorf("update %s in %s: %w", key, d.Table, ErrConflict)
}

// updateBackoff is the wait after a lost race: exponentially longer up to a cap, at random in
// the upper half, so that writers spread out instead of colliding in lockstep.
var updateBackoff = sleep.Backoff{Base: 5 * time.Millisecond, Max: 200 * time.Millisecond}
