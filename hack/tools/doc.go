// Package tools pins the linters `make verify` runs, in a module of their
// own so that their dependencies do not move Foresight's.
package tools
