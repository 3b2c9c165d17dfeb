package mototest

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDBAPI is the part of the DynamoDB client the watchdog's state store uses
// (state.DynamoDBAPI, repeated here so that the store's own tests can use Serialized).
type DynamoDBAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Serialized sends one DynamoDB request at a time. It exists for moto_server, which checks a
// condition expression and writes without a lock, so that two concurrent conditional writes
// can both succeed; DynamoDB never allows that. Serialising the requests gives moto DynamoDB's
// per-request atomicity, while writers still race between their read and their write, which is
// what the store's optimistic concurrency is about. Tests wrap moto's client in it when
// writers run concurrently.
type Serialized struct {
	API DynamoDBAPI
	mu  sync.Mutex
}

var _ DynamoDBAPI = (*Serialized)(nil)

// PutItem implements DynamoDBAPI.
func (s *Serialized) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.API.PutItem(ctx, in, optFns...)
}

// GetItem implements DynamoDBAPI.
func (s *Serialized) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.API.GetItem(ctx, in, optFns...)
}

// UpdateItem implements DynamoDBAPI.
func (s *Serialized) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.API.UpdateItem(ctx, in, optFns...)
}

// CreateStateTable creates a table shaped as template.yaml's StateTable: a string partition
// key "pk", on demand.
func CreateStateTable(t testing.TB, db *dynamodb.Client, name string) {
	t.Helper()
	_, err := db.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create state table %s: %v", name, err)
	}
}
