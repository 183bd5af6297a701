package wcevents

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Publisher appends one topic event. apiVersion "" means the payload is
// for every webhook of the topic (deleted events); otherwise only webhooks
// with that api_version are to get it.
type Publisher interface {
	Publish(ctx context.Context, topic string, resourceID int64, apiVersion string, payload []byte) error
}

// Subscribers tells which api_versions the site's active webhooks of a
// topic use (distinct values, any order; none when nobody listens).
type Subscribers interface {
	Versions(ctx context.Context, topic string) ([]string, error)
}

// Reader reads a resource as WooCommerce's API returns it for a webhook
// api_version: GET /wc/vN/<resource>s/<id> for wp_api_vN, the legacy v3
// wrapped form for legacy_v3. It returns the body exactly as received.
type Reader interface {
	Read(ctx context.Context, resource string, id int64, apiVersion string) ([]byte, error)
}

// Deduper remembers events across requests. Seen records (topic, id,
// modified) with the hash of the state it was emitted for, and reports
// true when the same state was already emitted.
type Deduper interface {
	Seen(ctx context.Context, topic string, id int64, modified, hash string) (bool, error)
}

// Marker is told once per change that was published (in one version or
// more), e.g. to leave the markers reconciliation checks.
type Marker interface {
	Published(ctx context.Context, topic string, id int64)
}

// Emitter publishes changes with the payload each subscribed api_version
// expects. Publisher and Subscribers are required; Reader, Dedupe and
// Marker may be nil (then versions the answer does not carry get nothing,
// and only the per-request de-duplication of Derive applies).
type Emitter struct {
	Publisher   Publisher
	Subscribers Subscribers
	Reader      Reader
	Dedupe      Deduper
	Marker      Marker
	// Warn, when set, is told about every event or version not published.
	Warn func(msg string, err error)
}

// Emit publishes every change (see EmitOne) and returns how many events
// were published and the errors met, joined.
func (e *Emitter) Emit(ctx context.Context, changes []Change) (int, error) {
	n := 0
	var errs []error
	for _, c := range changes {
		k, err := e.EmitOne(ctx, c)
		n += k
		if err != nil {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// NeedsReads reports whether publishing changes would read from
// WooCommerce: a change whose topic has subscribers of an api_version its
// Item is not (or that has no Item), or whose user or save is still to be
// resolved. Deleted and action events need no read.
func (e *Emitter) NeedsReads(ctx context.Context, changes []Change) bool {
	for _, c := range changes {
		if c.Deleted() || c.Action() {
			continue
		}
		if c.User != nil || !c.Saved.IsZero() {
			return true
		}
		versions, err := e.Subscribers.Versions(ctx, c.Topic)
		if err != nil {
			return true
		}
		for _, v := range versions {
			if c.Item == nil || v != c.ItemVersion {
				return true
			}
		}
	}
	return false
}

func (e *Emitter) mark(ctx context.Context, c Change) {
	if e.Marker != nil {
		e.Marker.Published(ctx, c.Topic, c.ID)
	}
}

// EmitOne publishes one change: nothing when no active webhook has the
// topic; a deleted event once, {"id":N}, for all versions; otherwise one
// event per subscribed api_version, whose payload is the answer's item
// when it is that version's representation, or else read once. A change
// whose state was already emitted (Dedupe) is dropped, and so is one whose
// read resource is in a status WooCommerce fires nothing for.
func (e *Emitter) EmitOne(ctx context.Context, c Change) (int, error) {
	versions, err := e.Subscribers.Versions(ctx, c.Topic)
	if err != nil {
		return 0, fmt.Errorf("listing webhooks of %s: %w", c.Topic, err)
	}
	if len(versions) == 0 {
		return 0, nil
	}
	if c.Action() {
		return e.emitAction(ctx, c)
	}
	if c.Deleted() {
		if dup, err := e.seen(ctx, c, c.Item); err != nil || dup {
			return 0, err
		}
		if err := e.Publisher.Publish(ctx, c.Topic, c.ID, "", DeletedPayload(c.ID)); err != nil {
			return 0, fmt.Errorf("publishing %s %d: %w", c.Topic, c.ID, err)
		}
		e.mark(ctx, c)
		return 1, nil
	}
	slices.Sort(versions)
	type out struct {
		version string
		payload []byte
	}
	var outs []out
	var errs []error
	for _, v := range versions {
		p, err := e.payload(ctx, c, v)
		if err != nil {
			errs = append(errs, err)
			e.warn("event payload unavailable", err)
			continue
		}
		if Skipped(c.Resource(), Status(p, c.Resource())) {
			return 0, nil
		}
		outs = append(outs, out{v, p})
	}
	if len(outs) == 0 {
		return 0, errors.Join(errs...)
	}
	if c.Modified == "" {
		c.Modified = Modified(outs[0].payload, c.Resource())
	}
	hashOf := c.Item
	if hashOf == nil {
		hashOf = outs[0].payload
	}
	if dup, err := e.seen(ctx, c, hashOf); err != nil || dup {
		return 0, errors.Join(append(errs, err)...)
	}
	n := 0
	for _, o := range outs {
		if err := e.Publisher.Publish(ctx, c.Topic, c.ID, o.version, o.payload); err != nil {
			errs = append(errs, fmt.Errorf("publishing %s %d (%s): %w", c.Topic, c.ID, o.version, err))
			continue
		}
		n++
	}
	if n > 0 {
		e.mark(ctx, c)
	}
	return n, errors.Join(errs...)
}

// payload returns the payload of c for webhooks of api_version v.
func (e *Emitter) payload(ctx context.Context, c Change, v string) ([]byte, error) {
	if c.Item != nil && c.ItemVersion == v {
		return prepare(c.Item, v), nil
	}
	if e.Reader == nil {
		return nil, fmt.Errorf("%s %d: no reader for %s", c.Topic, c.ID, v)
	}
	b, err := e.Reader.Read(ctx, c.Resource(), c.ID, v)
	if err != nil {
		return nil, fmt.Errorf("reading %s %d for %s: %w", c.Resource(), c.ID, v, err)
	}
	return prepare(b, v), nil
}

// prepare applies what WooCommerce's payload building does to a REST
// item: the JSON round trip turns {} into []. Legacy payloads are encoded
// once and stay as they are.
func prepare(b []byte, v string) []byte {
	b = trimSpace(b)
	if strings.HasPrefix(v, "wp_api_") {
		return EmptyObjectsToArrays(b)
	}
	return b
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// seen asks the Deduper about c; changes without a modification time are
// only de-duplicated within their request.
func (e *Emitter) seen(ctx context.Context, c Change, state []byte) (bool, error) {
	if e.Dedupe == nil || c.Modified == "" {
		return false, nil
	}
	sum := sha256.Sum256(state)
	dup, err := e.Dedupe.Seen(ctx, c.Topic, c.ID, c.Modified, hex.EncodeToString(sum[:8]))
	if err != nil {
		// Better a possible duplicate than a lost event.
		e.warn("event de-duplication unavailable", err)
		return false, nil
	}
	return dup, nil
}

func (e *Emitter) warn(msg string, err error) {
	if e.Warn != nil {
		e.Warn(msg, err)
	}
}

// DedupeKey is the part of a de-duplication key after the site's prefix:
// "evdd:<topic>:<id>:<modified>".
func DedupeKey(topic string, id int64, modified string) string {
	return "evdd:" + topic + ":" + strconv.FormatInt(id, 10) + ":" + modified
}
