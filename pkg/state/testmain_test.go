package state

import (
	"os"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// TestMain shares one moto_server among the package's tests, taken in turn.
func TestMain(m *testing.M) { os.Exit(mototest.Main(m.Run)) }
