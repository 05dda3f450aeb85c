package store

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/foresight-dev/foresight/pkg/profiler/profile"
)

// legacyProfile is a profile as agents before the v2 store wrote it: gob
// matches fields by name, so these mirror the old types.
type legacyProfile struct {
	Key, Namespace, Pod, PodUID, Container string
	Current                                [profile.NumResources]float64
	CurrentTime                            time.Time
	Samples                                int64
	Rings                                  []legacyRing
	Histograms                             [profile.NumResources]profile.Histogram
}

type legacyRing struct {
	Resolution time.Duration
	Head       int64
	Points     []legacyPoint
}

type legacyPoint struct {
	Mean, Max [profile.NumResources]float32
	Count     uint32
}

// migrate converts the records of the v1 bucket into current ones and
// deletes the v1 bucket: each old ring's slots go into a ring of the same
// shape, laid out as today's by profile.Conform (the 5-minute week into
// the 5-minute ring and the hour ring); rhythms and bursts start empty. A
// record that does not decode is dropped.
func migrate(tx *bolt.Tx, dst *bolt.Bucket) error {
	old := tx.Bucket(bucketLegacy)
	if old == nil {
		return nil
	}
	err := old.ForEach(func(k, v []byte) error {
		var lp legacyProfile
		if err := gob.NewDecoder(bytes.NewReader(v)).Decode(&lp); err != nil {
			return nil
		}
		p := profile.New(lp.Key)
		p.Namespace, p.Pod, p.PodUID, p.Container = lp.Namespace, lp.Pod, lp.PodUID, lp.Container
		p.Current, p.CurrentTime, p.Samples = lp.Current, lp.CurrentTime, lp.Samples
		for i := range p.Histograms {
			if lp.Histograms[i].Weights != nil {
				p.Histograms[i] = lp.Histograms[i]
			}
		}
		var rings []profile.Ring
		for _, lr := range lp.Rings {
			n := int64(len(lr.Points))
			if lr.Resolution <= 0 || n == 0 {
				continue
			}
			r := profile.NewRing(lr.Resolution, time.Duration(n)*lr.Resolution)
			for s := lr.Head - n + 1; s <= lr.Head; s++ {
				pt := lr.Points[((s%n)+n)%n]
				if pt.Count == 0 {
					continue
				}
				sl := profile.Slot{Count: int(pt.Count)}
				for j := range sl.Mean {
					sl.Mean[j], sl.Max[j] = float64(pt.Mean[j]), float64(pt.Max[j])
				}
				r.AddSlot(time.Unix(0, s*int64(lr.Resolution)), sl)
			}
			rings = append(rings, r)
		}
		p.Rings = rings
		p.Conform()
		return put(dst, k, p)
	})
	if err != nil {
		return err
	}
	return tx.DeleteBucket(bucketLegacy)
}

// migrateV2 converts the records of the v2 bucket (five weeks at 5
// minutes) into current ones (profile.Conform: the newest week stays at 5
// minutes, the five weeks go into the hour ring; everything else is kept)
// and deletes the v2 bucket. A record that does not decode is dropped.
func migrateV2(tx *bolt.Tx, dst *bolt.Bucket) error {
	old := tx.Bucket(bucketV2)
	if old == nil {
		return nil
	}
	err := old.ForEach(func(k, v []byte) error {
		p := &profile.Profile{}
		if err := gob.NewDecoder(bytes.NewReader(v)).Decode(p); err != nil {
			return nil
		}
		p.Conform()
		return put(dst, k, p)
	})
	if err != nil {
		return err
	}
	return tx.DeleteBucket(bucketV2)
}

func put(b *bolt.Bucket, k []byte, p *profile.Profile) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(p); err != nil {
		return fmt.Errorf("encoding migrated profile %s: %w", k, err)
	}
	return b.Put(k, buf.Bytes())
}
