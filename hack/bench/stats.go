package main

import (
	"cmp"
	"math"
	"slices"
)

// percentile returns the nearest-rank p-th percentile of values (p in (0, 100]), or zero for
// none: the smallest value at least p% of the values are not above.
func percentile[T cmp.Ordered](values []T, p float64) T {
	var zero T
	if len(values) == 0 {
		return zero
	}
	s := slices.Clone(values)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}
