// Package private checks the trust boundaries on disk: a directory or file
// whose contents decide what a gate finds (the SBOM cache, the
// vulnerability database) must be writable only by the user running
// Terraform, or whoever else can write it decides the result.
package private
