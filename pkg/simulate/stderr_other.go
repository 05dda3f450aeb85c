//go:build !unix

package simulate

import (
	"errors"
	"os"
)

// RedirectStderr is not supported here: the control plane's logs stay on
// standard error.
func RedirectStderr(string) (*os.File, func(), error) {
	return nil, nil, errors.New("not supported on this platform")
}
