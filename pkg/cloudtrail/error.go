package cloudtrail

import (
	"errors"
	"strconv"
)

// Position says where a record or an error was found.
type Position struct {
	Name string // the file name, URL or "-" for standard input
	// Line is the 1-based line on which the record begins or the problem was found. It is 0
	// from Decode, which reads no lines, and for a problem with the input as a whole.
	Line int
	// Index is the 0-based index in an array of records — a log file's Records, the Events of
	// lookup-events output, or an array at the top level — or -1 when the value was not in one.
	Index int
}

func (p Position) String() string {
	s := p.Name
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
	}
	if p.Index >= 0 {
		s += " record " + strconv.Itoa(p.Index)
	}
	return s
}

// Error is a problem with one part of the input, or with the input as a whole (Scope). Reading
// goes on after it unless it is the last value Records yields.
type Error struct {
	Pos   Position
	Err   error
	Scope Scope
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Scope says what an Error spoils.
type Scope uint8

const (
	// ScopeRecord: one record, array element, line or value is bad; the input around it was
	// still read, and the records in it yielded.
	ScopeRecord Scope = iota
	// ScopeInput: the input as a whole could not be read: it is not gzip-decodable, breaks off
	// (a corrupt or truncated stream, a read error), is empty, holds no whole JSON value, or holds a
	// document too large to read.
	ScopeInput
)

func (s Scope) String() string {
	if s == ScopeInput {
		return "input"
	}
	return "record"
}

// IsInputError reports whether err is an *Error about the input as a whole (ScopeInput) rather
// than about one record in it.
func IsInputError(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Scope == ScopeInput
}
