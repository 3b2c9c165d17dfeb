//go:build amd64 || arm64

package cloudtrail

import "unsafe"

// load64 reads the eight bytes at p+i as a little-endian word, in one instruction: these
// machines are little-endian and load from any address. The caller keeps i+8 within bounds.
func load64(p unsafe.Pointer, i int) uint64 { return *(*uint64)(unsafe.Add(p, i)) }
