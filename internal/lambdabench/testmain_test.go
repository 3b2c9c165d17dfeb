package lambdabench

import (
	"os"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/lambdatest"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// TestMain shares one moto_server among the package's tests, taken in turn, and builds each
// bootstrap once.
func TestMain(m *testing.M) {
	os.Exit(mototest.Main(func() int { return lambdatest.Main(m.Run) }))
}
