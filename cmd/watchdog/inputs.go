package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iam-watchdog/iam-watchdog/pkg/clienv"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/eventhistory"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// inputFlags are the flags of a command that reads archives as replay does: how many inputs at
// once, and the scope.
type inputFlags struct {
	jobs                          int
	since, until, account, region string
}

func (f *inputFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.jobs, "jobs", runtime.NumCPU(), "inputs read at once (findings keep the input order)")
	fs.StringVar(&f.since, "since", "", "only events at or after this time (RFC 3339, or a date: midnight UTC)")
	fs.StringVar(&f.until, "until", "", "only events before this time (RFC 3339, or a date: midnight UTC)")
	fs.StringVar(&f.account, "account", "", "only events in this account")
	fs.StringVar(&f.region, "region", "", "only events in this region")
}

// parse parses a command line of PATHs and these flags: the PATHs, and the scope the flags give.
func (f *inputFlags) parse(fs *flag.FlagSet, args []string) ([]string, replay.Scope, error) {
	paths, err := parseArgs(fs, args, "PATH (a file, a directory, s3://bucket/prefix or - for standard input)")
	if err == nil && f.jobs < 1 {
		err = usageError{fmt.Errorf("--jobs %d: want at least 1", f.jobs)}
	}
	if err != nil {
		return nil, replay.Scope{}, err
	}
	sc, err := replay.ParseScope(f.since, f.until, f.account, f.region)
	if err != nil {
		return nil, sc, usageError{err}
	}
	return paths, sc, nil
}

// lookupRate is the LookupEvents calls a second per region: LookupEvents' quota. Tests against a
// local CloudTrail raise it.
var lookupRate = eventhistory.DefaultRate

// sources are the sources of the PATH arguments: files, directories, standard input, S3
// prefixes and regions' Event history (cloudtrail://REGION), read with env's AWS configuration,
// loaded on first use. What Event history leaves out is told to say, as problems are.
func sources(env *clienv.Env, std stdio, say func(error), paths []string) []replay.Source {
	awsCfg := func(context.Context) (aws.Config, error) { return env.AWS() }
	s3Client := sync.OnceValues(func() (replay.S3API, error) {
		c, err := env.AWS()
		if err != nil {
			return nil, err
		}
		return replay.NewS3Client(c), nil
	})
	locate := replay.Locator{Stdin: std.in,
		S3: func(context.Context) (replay.S3API, error) { return s3Client() },
		History: &replay.History{Plan: eventhistory.NewPlan(detect.Rules()), Config: awsCfg, Rate: lookupRate,
			Notes: func(s string) { say(errors.New(s)) }}}
	return locate.Sources(paths)
}
