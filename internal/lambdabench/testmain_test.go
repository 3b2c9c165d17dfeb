package lambdabench

import (
	"os"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/lambdatest"
)

// TestMain builds each bootstrap once and shares one moto_server among the tests, in turn.
func TestMain(m *testing.M) { os.Exit(lambdatest.Main(m.Run)) }
