// Package optarg holds the one rule of the project's trailing
// opts ...XxxOptions parameters, shared by bcc and the public packages
// beside it so that they agree on it and on its words: none means the
// defaults, one is taken, more is a mistake.
package optarg

import (
	"errors"
	"fmt"
)

// ErrTooMany means a trailing opts parameter got more than one value
// (bcc.ErrTooManyOptions is this value).
var ErrTooMany = errors.New("more than one options value")

// One returns the options value of opts: the zero value for none, the
// value for one, an error wrapping ErrTooMany for more.
func One[T any](opts []T) (T, error) {
	var zero T
	switch len(opts) {
	case 0:
		return zero, nil
	case 1:
		return opts[0], nil
	}
	return zero, fmt.Errorf("%w: got %d %T values", ErrTooMany, len(opts), zero)
}

// OneOrComplaint is One for methods that return a string and no error,
// as BCC's symbol methods do: misuse comes back as a bracketed complaint
// to print in place of the result, the way fmt shows a bad verb.
func OneOrComplaint[T any](opts []T) (T, string) {
	o, err := One(opts)
	if err != nil {
		return o, "[" + err.Error() + "]"
	}
	return o, ""
}
