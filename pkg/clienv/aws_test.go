package clienv

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
)

// TestCredentials: with no credentials anywhere, Credentials says ErrNoCredentials (told by the
// SDK's typed error, the instance metadata client's); with keys in the environment, nil. No
// call leaves the machine: metadata is disabled and the endpoint is a closed local port.
func TestCredentials(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want error
	}{
		{"none", nil, ErrNoCredentials},
		{"keys", map[string]string{"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE12", "AWS_SECRET_ACCESS_KEY": "example"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, kv := range os.Environ() {
				if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AWS_") {
					t.Setenv(name, "")
					os.Unsetenv(name)
				}
			}
			t.Setenv("HOME", t.TempDir())
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			t.Setenv("AWS_ENDPOINT_URL", closed)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if err := New(t.Context(), nil).Credentials(t.Context()); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
		})
	}
}
