package fanout

import (
	"fmt"
	"io"
	"time"
)

// Print says what the fan-out did on function and where its results are, in lines starting
// "watchdog: ", after the replay's summary.
func (r *Report) Print(w io.Writer, function string) {
	lambdaTime := r.Lambda.Round(time.Millisecond).String()
	switch {
	case r.Billed == r.Invocations:
		lambdaTime += " billed"
	case r.Billed > 0:
		lambdaTime += fmt.Sprintf(" (billed for %d invocations, measured by the function for the rest)", r.Billed)
	default:
		lambdaTime += " as the function measured it"
	}
	if r.Unmeasured > 0 {
		lambdaTime += fmt.Sprintf(", and %d invocations that reported none", r.Unmeasured)
	}
	fmt.Fprintf(w, "watchdog: %d batches on Lambda %s, %d at once: %d invocations, %d retried, %d split, %d failed; Lambda time %s\n",
		r.Batches, function, r.Concurrency, r.Invocations, r.Retried, r.Split, r.Failed, lambdaTime)
	fmt.Fprintf(w, "watchdog: the batches' findings are in %s\n", r.Results)
}
