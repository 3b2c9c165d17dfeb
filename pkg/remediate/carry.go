package remediate

import (
	"context"
	"errors"
	"fmt"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// ErrNotRecorded wraps the error of Carry's record: the plan could not be stored, and nothing
// was done.
var ErrNotRecorded = errors.New("the undo record could not be stored first, so nothing was done")

// Carrier is what Carry needs of a Remediator.
type Carrier interface {
	Plan(ctx context.Context, a detect.Action) (Undo, error)
	Do(ctx context.Context, u Undo) error
}

// Carry performs a so that no invocation that dies, and no write that is lost, can leave a
// change without its undo record or have it taken for somebody else's: it plans a (reads only),
// hands the plan to record to be stored before anything changes — doing nothing if that fails
// (ErrNotRecorded) — and then does it. record may be nil (nowhere to store it).
//
// prior is a plan an earlier attempt stored and may have carried out before it ended: it is
// done again instead of planning afresh (every action is safe to repeat), and a NoSuchEntity
// then answers the earlier attempt's own change, so it is no error.
//
// The plan is returned whether or not it was carried out. A caller keeps it as the undo record
// when err is nil; when err wraps ErrMayHaveActed (the call failed after an attempt whose answer
// was lost); and, with prior, whatever err is: the earlier attempt may have acted.
func Carry(ctx context.Context, r Carrier, a detect.Action, prior *Undo, record func(Undo) error) (Undo, error) {
	if prior != nil {
		err := r.Do(ctx, *prior)
		if errors.Is(err, ErrAlreadyReverted) {
			err = nil
		}
		return *prior, err
	}
	u, err := r.Plan(ctx, a)
	if err != nil {
		return Undo{}, err
	}
	if record != nil {
		if err := record(u); err != nil {
			return u, fmt.Errorf("%w: %w", ErrNotRecorded, err)
		}
	}
	return u, r.Do(ctx, u)
}
