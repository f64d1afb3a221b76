//go:build !unix

package private

import "os"

// Check only checks that path exists where Unix ownership does not apply;
// access control lists are the operating system's business.
func Check(path string) error {
	_, err := os.Stat(path)
	return err
}
