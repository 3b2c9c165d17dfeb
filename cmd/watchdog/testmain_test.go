package main

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/lambdatest"
)

// cliBuild is the watchdog binary buildWatchdog builds once for the package's tests, in dir.
var cliBuild struct {
	dir  string
	once sync.Once
	bin  string
	err  error
}

// TestMain shares one moto_server among the package's tests, taken in turn, and builds each
// binary (the CLI, the replay function's bootstrap) once.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "watchdog-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cliBuild.dir = dir
	code := lambdatest.Main(m.Run)
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = max(code, 1)
	}
	os.Exit(code)
}
