package motoserver

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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
