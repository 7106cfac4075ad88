package usym

import "errors"

// Errors returned by this package wrap one of these where it applies.
var (
	// ErrNotELF means a file is not an ELF object we can read.
	ErrNotELF = errors.New("not a readable ELF file")
	// ErrSymbolNotFound means no symbol of that name exists.
	ErrSymbolNotFound = errors.New("symbol not found")
	// ErrLibraryNotFound means a short library name resolved to no file.
	ErrLibraryNotFound = errors.New("library not found")
	// ErrMalformedMaps means a /proc/PID/maps line could not be parsed.
	ErrMalformedMaps = errors.New("malformed /proc/PID/maps line")
	// ErrNoExecSegment means a symbol lies in no executable segment, so it
	// has no file offset a uprobe could use.
	ErrNoExecSegment = errors.New("address is in no executable segment")
	// ErrClosed means the Resolver was closed.
	ErrClosed = errors.New("symbol resolver closed")
)
