package store

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/foresight-dev/foresight/pkg/profiler/profile"
)

var (
	// bucketProfiles holds profiles laid out as profile.DefaultRings (a
	// week at 5 minutes, five weeks at 1 hour), rings in their binary form
	// (18-byte slots).
	bucketProfiles = []byte("profiles.v3")
	// bucketV2 holds profiles of agents before v3 (18-byte slots, five
	// weeks at 5 minutes), bucketLegacy those of agents before v2 (float32
	// slots, one week at 5 minutes); Open migrates both.
	bucketV2     = []byte("profiles.v2")
	bucketLegacy = []byte("profiles.v1")
)

// Store is a bbolt file of profiles keyed by container key.
type Store struct {
	db *bolt.DB
}

// Open opens (creating if needed) the store at path. It fails after a
// second if another process holds the file.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("opening profile store %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketProfiles)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(bucketOriginals); err != nil {
			return err
		}
		if err := migrateV2(tx, b); err != nil {
			return err
		}
		return migrate(tx, b)
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("initialising profile store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Save writes the profiles in one transaction.
func (s *Store) Save(ps ...*profile.Profile) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketProfiles)
		for _, p := range ps {
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(p); err != nil {
				return fmt.Errorf("encoding profile %s: %w", p.Key, err)
			}
			if err := b.Put([]byte(p.Key), buf.Bytes()); err != nil {
				return fmt.Errorf("writing profile %s: %w", p.Key, err)
			}
		}
		return nil
	})
}

// Delete removes profiles.
func (s *Store) Delete(keys ...string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketProfiles)
		for _, k := range keys {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
}

// LoadAll reads every profile, its rings laid out as profile.DefaultRings
// (profile.Conform). A record that does not decode is reported and
// skipped, not fatal.
func (s *Store) LoadAll() (map[string]*profile.Profile, error) {
	out := map[string]*profile.Profile{}
	var bad []error
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketProfiles).ForEach(func(k, v []byte) error {
			p := &profile.Profile{}
			if err := gob.NewDecoder(bytes.NewReader(v)).Decode(p); err != nil {
				bad = append(bad, fmt.Errorf("profile %s: %w", k, err))
				return nil
			}
			p.Conform()
			out[string(k)] = p
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, errors.Join(bad...)
}

// Keys lists the stored keys.
func (s *Store) Keys() ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketProfiles).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out, err
}

// Size is the file's size in bytes.
func (s *Store) Size() (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n, err
}

// bucketOriginals holds the original values of the cgroup files the
// enforcer changed, by file path.
var bucketOriginals = []byte("originals.v1")

// SaveOriginal records the original value of a cgroup file before the
// enforcer first writes it, unless one is recorded already (the first
// value read is the original). It returns once the record is on disk.
func (s *Store) SaveOriginal(file, value string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOriginals)
		if b.Get([]byte(file)) != nil {
			return nil
		}
		if err := b.Put([]byte(file), []byte(value)); err != nil {
			return fmt.Errorf("recording the original of %s: %w", file, err)
		}
		return nil
	})
}

// DeleteOriginal forgets a file's original once it is written back.
func (s *Store) DeleteOriginal(file string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOriginals).Delete([]byte(file))
	})
}

// Originals returns every recorded original value by file.
func (s *Store) Originals() (map[string]string, error) {
	out := map[string]string{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOriginals).ForEach(func(k, v []byte) error {
			out[string(k)] = string(v)
			return nil
		})
	})
	return out, err
}
