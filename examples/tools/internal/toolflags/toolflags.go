// Package toolflags holds the option handling BCC's tools share, so that
// each ported tool's main stays about what it traces.
package toolflags

import (
	"fmt"
	"strconv"
)

// Forever is the interval of a tool that prints only at Ctrl-C: BCC's
// funccount and stackcount use 99999999 seconds.
const Forever = 99999999

// IntervalDuration reads BCC's -i INTERVAL and -d DURATION (whole seconds,
// empty for unset) as funccount and stackcount do: a duration without an
// interval prints once at its end, and no interval prints only at the end.
func IntervalDuration(interval, duration string) (intervalS, durationS int, err error) {
	seconds := func(s, name string) (int, error) {
		if s == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("invalid %s %q", name, s)
		}
		return n, nil
	}
	if intervalS, err = seconds(interval, "interval"); err != nil {
		return 0, 0, err
	}
	if durationS, err = seconds(duration, "duration"); err != nil {
		return 0, 0, err
	}
	if durationS > 0 && intervalS == 0 {
		intervalS = durationS
	}
	if intervalS == 0 {
		intervalS = Forever
	}
	return intervalS, durationS, nil
}
