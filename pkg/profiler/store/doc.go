// Package store persists container profiles in a bbolt file under a host
// path, so that an agent restart or upgrade loses no history.
package store
