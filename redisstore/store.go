package redisstore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// ErrExists is returned when an imported API key's id or consumer key hash
// is already stored.
var ErrExists = errors.New("already exists")

// Defaults of Options.
const (
	DefaultPrefix  = "wcwh"
	DefaultIDFloor = 100000
	// MaxSiteNameLen is the longest site name Site accepts, in bytes.
	MaxSiteNameLen = 200
)

// Options configure a Store.
type Options struct {
	// Prefix starts every key. Default "wcwh". It must not contain '{' or
	// '}' (the site's hash tag must be the first one in each key).
	Prefix string
	// IDFloor keeps generated webhook and API key ids above the ids still
	// stored in WordPress: the first id is IDFloor+1. Default 100000 (when
	// zero); a negative value means no floor (ids start at 1).
	IDFloor int64
}

// Store holds the webhooks, delivery logs and API keys of many sites in one
// Redis (or Redis Cluster). It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	floor  int64
}

// New returns a Store on rdb. Zero options take their defaults (Prefix
// "wcwh", IDFloor 100000).
func New(rdb redis.UniversalClient, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.IDFloor == 0 {
		opts.IDFloor = DefaultIDFloor
	}
	if opts.IDFloor < 0 {
		opts.IDFloor = 0
	}
	return &Store{rdb: rdb, prefix: opts.Prefix, floor: opts.IDFloor}
}

// Client returns the Redis client the store uses.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Site is the data of one site (one WooCommerce shop). Every key it touches
// starts with "<prefix>:{<name>}:", so all of a site's keys share one Redis
// Cluster slot and sites never see each other's data.
type Site struct {
	store *Store
	name  string
	kp    string // key prefix "<prefix>:{<name>}:"
}

// Site returns the handle of the site called name. The name must be 1 to
// 200 bytes of printable UTF-8 without '{' or '}'.
func (s *Store) Site(name string) (*Site, error) {
	if err := validSiteName(name); err != nil {
		return nil, err
	}
	if strings.ContainsAny(s.prefix, "{}") {
		return nil, errors.New("redisstore: key prefix must not contain '{' or '}'")
	}
	return &Site{store: s, name: name, kp: s.prefix + ":{" + name + "}:"}, nil
}

// Name returns the site's name.
func (st *Site) Name() string { return st.name }

// KeyPrefix returns the prefix of every key of the site,
// "<prefix>:{<name>}:"; other packages may keep their own per-site keys
// under it.
func (st *Site) KeyPrefix() string { return st.kp }

func validSiteName(name string) error {
	switch {
	case name == "":
		return errors.New("redisstore: site name is empty")
	case len(name) > MaxSiteNameLen:
		return fmt.Errorf("redisstore: site name is longer than %d bytes", MaxSiteNameLen)
	case !utf8.ValidString(name):
		return errors.New("redisstore: site name is not valid UTF-8")
	case strings.ContainsAny(name, "{}"):
		return errors.New("redisstore: site name must not contain '{' or '}'")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("redisstore: site name %q has a non-printable character", name)
		}
	}
	return nil
}

// key joins the site prefix and the parts with ':'.
func (st *Site) key(parts ...string) string {
	return st.kp + strings.Join(parts, ":")
}

// padID formats an id as 19 digits, so that lexicographic order of padded
// ids is their numeric order (ids are never negative).
func padID(id int64) string {
	return fmt.Sprintf("%019d", id)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
