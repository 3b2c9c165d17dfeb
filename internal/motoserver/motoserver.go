// Package motoserver runs a real moto_server (the Python moto package's AWS API emulator) on a
// free loopback port for as long as a program needs it: `watchdog demo` shows real reverts
// against it. It has no test dependency, so the CLI can link it; tests use internal/mototest,
// which wraps it.
package motoserver

import "net"

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
