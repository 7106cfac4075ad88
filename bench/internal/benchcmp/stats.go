package benchcmp

import (
	"math"
	"slices"
)

// Series is one side's samples for a measurement.
type Series struct {
	Samples []float64
	// Err is why the side has fewer samples than asked for, if it has.
	Err error
}

// Min is the smallest sample (NaN when there is none).
func (s Series) Min() float64 {
	if len(s.Samples) == 0 {
		return math.NaN()
	}
	return slices.Min(s.Samples)
}

// Max is the largest sample (NaN when there is none).
func (s Series) Max() float64 {
	if len(s.Samples) == 0 {
		return math.NaN()
	}
	return slices.Max(s.Samples)
}

// Median is the middle sample, or the mean of the two middle ones (NaN when
// there is none).
func (s Series) Median() float64 {
	n := len(s.Samples)
	if n == 0 {
		return math.NaN()
	}
	v := slices.Sorted(slices.Values(s.Samples))
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// Result is a measurement's samples from both sides.
type Result struct {
	Measurement *Measurement
	Gobcc       Series
	Python      Series
}

// OK reports whether both sides produced every sample.
func (r Result) OK() bool { return r.Gobcc.Err == nil && r.Python.Err == nil }

// Ratio is gobcc's median over BCC Python's: below 1 gobcc takes less time
// or memory; for rates (PerSecond), above 1 gobcc is faster.
func (r Result) Ratio() float64 { return r.Gobcc.Median() / r.Python.Median() }

// Advantage says how many times better gobcc does than BCC Python, whatever
// the unit: above 1 gobcc is faster or smaller, below 1 it is slower or
// larger. It is Ratio for rates and 1/Ratio otherwise.
func (r Result) Advantage() float64 {
	if r.Measurement.Unit.HigherIsBetter() {
		return r.Ratio()
	}
	return 1 / r.Ratio()
}
