// Package doccheck holds only a test: every Go block of README.md and
// docs/*.md that is a complete file, or a snippet marked for it, must
// compile against the current API. The convention is in docs/testing.md.
package doccheck
