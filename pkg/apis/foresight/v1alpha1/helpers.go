package v1alpha1

import (
	"fmt"
	"strconv"
)

// Float returns the confidence as a number in (0, 1), or an error when it
// is not one; the API server's pattern only admits such values.
func (c Confidence) Float() (float64, error) {
	f, err := strconv.ParseFloat(string(c), 64)
	if err != nil {
		return 0, fmt.Errorf("confidence %q: %w", string(c), err)
	}
	if f <= 0 || f >= 1 {
		return 0, fmt.Errorf("confidence %q is not in (0, 1)", string(c))
	}
	return f, nil
}
