package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
)

// TestMACInput pins the message the MAC is made over (docs/threat-model.md describes it): a
// version line, then the SHA-256 of the record's key and of each piece in a fixed order, "-" for
// an absent piece, so that no two records' inputs are alike unless their key and every piece
// are, byte for byte.
func TestMACInput(t *testing.T) {
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	s := sealed{Action: json.RawMessage(`{"action":"quarantine_user"}`), Event: json.RawMessage(`{"record":"{}"}`)}
	want := "iam-watchdog state record v1\n" +
		"key " + sum("ev-1#mfa-deactivated") + "\n" +
		"action " + sum(`{"action":"quarantine_user"}`) + "\n" +
		"undo -\n" +
		"outcome -\n" +
		"alert -\n" +
		"event " + sum(`{"record":"{}"}`) + "\n"
	if got := string(macInput("ev-1#mfa-deactivated", &s)); got != want {
		t.Errorf("MAC input:\n%s\nwant:\n%s", got, want)
	}
	moved := sealed{Undo: s.Action, Event: s.Event}
	if string(macInput("ev-1#mfa-deactivated", &moved)) == want {
		t.Error("the same bytes under another piece's name give the same MAC input")
	}
	if len(macInput("k", &sealed{Action: s.Action, Undo: s.Action, Outcome: s.Action, Alert: s.Action, Event: s.Event})) > 4096 {
		t.Error("the MAC input exceeds GenerateMac's 4,096 bytes")
	}
}
