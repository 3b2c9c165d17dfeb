package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

// runVersion prints which build is running, from Go's build information: the module and its
// version, Go's version, and the VCS revision, its time and whether the tree was modified
// (absent from a build outside a repository, or with -buildvcs=false).
func runVersion(_ context.Context, args []string, std stdio) error {
	if _, err := parseArgs(flag.NewFlagSet("version", flag.ContinueOnError), args, ""); err != nil {
		return err
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Errorf("no build information in this binary")
	}
	fmt.Fprintf(std.out, "watchdog %s\nmodule %s\ngo %s\n", bi.Main.Version, bi.Main.Path, bi.GoVersion)
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision", "vcs.time", "vcs.modified":
			fmt.Fprintf(std.out, "%s %s\n", s.Key, s.Value)
		}
	}
	return nil
}
