package demo

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/motoserver"
	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
)

// AuditHeading is the audit section's heading; the tests look for it.
const AuditHeading = "══ watchdog audit of the moto account the reverts left, not AWS ══"

// closingAudit ends the demo with `watchdog audit`'s text report of the moto account the reverts
// section set up and undid: the engine and the report are the CLI's.
func closingAudit(ctx context.Context, w io.Writer, moto *motoserver.Process) error {
	fmt.Fprintf(w, "\n%s\n", AuditHeading)
	fmt.Fprintln(w, "The same moto_server, audited as `watchdog audit` audits an account: CIS AWS Foundations section 1")
	fmt.Fprintln(w, "and the watchdog's own sight. moto's credential report has no row for the root user and moto does")
	fmt.Fprintln(w, "not implement ListOrganizationsFeatures, so those checks could not run; the users, policies and")
	fmt.Fprintln(w, "password policy are what the reverts and their undo left.")
	fmt.Fprintln(w)
	// moto makes its credential report at once: a short poll keeps the demo quick.
	au, err := audit.New(audit.Options{ReportPoll: 100 * time.Millisecond})
	if err != nil {
		return err
	}
	report := au.Account(ctx, audit.NewClients(motoConfig(moto.Endpoint)))
	if err := audit.WriteText(w, report, audit.TextOptions{}); err != nil {
		return fmt.Errorf("audit of moto_server: %w", err)
	}
	return nil
}
