//go:build !(amd64 || arm64)

package cloudtrail

import (
	"encoding/binary"
	"unsafe"
)

// load64 reads the eight bytes at p+i as a little-endian word. The caller keeps i+8 within
// bounds.
func load64(p unsafe.Pointer, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(p, i)), 8))
}
