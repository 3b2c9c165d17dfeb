package clienv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// ErrNoTable is --state dynamodb:// without a table: a usage error.
var ErrNoTable = errors.New("--state dynamodb:// needs a table name")

// DefaultStatePath is where the CLI keeps its state file unless --state says otherwise.
func DefaultStatePath() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ".watchdog-state.json"
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "iam-watchdog", "state.json")
}

// Store opens the store spec names (--state): a file path, or dynamodb://TABLE. Only the table
// needs AWS.
func (e *Env) Store(spec string) (state.Store, error) {
	if table, ok := strings.CutPrefix(spec, "dynamodb://"); ok {
		if table == "" {
			return nil, ErrNoTable
		}
		cfg, err := e.aws()
		if err != nil {
			return nil, err
		}
		return &state.DynamoDB{API: dynamodb.NewFromConfig(cfg), Table: table}, nil
	}
	if err := os.MkdirAll(filepath.Dir(spec), 0o700); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return state.OpenFile(spec)
}

// Codec is what reads and writes the pieces of authority in the records of the store spec
// names, authenticated with the config's state_key_arn. The shared table may hold no
// unauthenticated record, so it needs the key; the CLI's own file may do without (it is its
// user's own). Reading a record takes kms:VerifyMac only; kms:GenerateMac only writing one.
func (e *Env) Codec(cfg policy.Config, spec string) (alert.Codec, error) {
	if cfg.StateKeyARN == "" {
		if strings.HasPrefix(spec, "dynamodb://") {
			return alert.Codec{}, fmt.Errorf("--state %s needs state_key_arn in the config: the shared state table's records are authenticated with the stack's state key (its StateKeyArn output)", spec)
		}
		return alert.Codec{}, nil
	}
	c, err := e.aws()
	if err != nil {
		return alert.Codec{}, err
	}
	return alert.Codec{KeyARN: cfg.StateKeyARN, KMS: kms.NewFromConfig(c)}, nil
}

// Records opens the store and its codec.
func (e *Env) Records(cfg policy.Config, spec string) (alert.Records, error) {
	st, err := e.Store(spec)
	if err != nil {
		return alert.Records{}, err
	}
	codec, err := e.Codec(cfg, spec)
	return alert.Records{Store: st, Codec: codec}, err
}
