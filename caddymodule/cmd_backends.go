package caddymodule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/redis/go-redis/v9"

	"github.com/wcwebhooks/caddy-wc-webhooks/redisstore"
)

// redisBackend manages keys in a Redis directly.
type redisBackend struct {
	client *redis.Client
	site   *redisstore.Site
}

func newRedisBackend(fl caddycmd.Flags, raw, name string) (*redisBackend, error) {
	opts, err := parseRedisURL(raw)
	if err != nil {
		return nil, err
	}
	floor, err := strconv.ParseInt(fl.String("id-floor"), 10, 64)
	if err != nil || floor < 0 {
		return nil, errors.New("--id-floor must be a non-negative integer")
	}
	prefix := fl.String("key-prefix")
	if prefix == "" || strings.ContainsAny(prefix, "{} \t\r\n") {
		return nil, fmt.Errorf("--key-prefix %q must be non-empty without braces or whitespace", prefix)
	}
	client := redis.NewClient(opts)
	site, err := redisstore.New(client, redisstore.Options{Prefix: prefix, IDFloor: floor}).Site(name)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("opening site: %w", err)
	}
	return &redisBackend{client: client, site: site}, nil
}

func (b *redisBackend) add(ctx context.Context, userID int64, description, permissions string) (NewKeyView, error) {
	ck, cs, key, err := b.site.AddAPIKey(ctx, userID, description, permissions)
	if err != nil {
		return NewKeyView{}, err
	}
	return NewKeyView{KeyView: viewOf(*key), ConsumerKey: ck, ConsumerSecret: cs}, nil
}

func (b *redisBackend) list(ctx context.Context) ([]KeyView, error) {
	keys, err := b.site.ListAPIKeys(ctx)
	if err != nil {
		return nil, err
	}
	views := make([]KeyView, 0, len(keys))
	for _, k := range keys {
		views = append(views, viewOf(k))
	}
	return views, nil
}

func (b *redisBackend) remove(ctx context.Context, id int64) (bool, error) {
	return b.site.DeleteAPIKey(ctx, id)
}

func (b *redisBackend) close() { _ = b.client.Close() }

// adminBackend manages keys through the running Caddy's admin API
// (admin.api.wc_webhooks).
type adminBackend struct {
	addr string
	site string
}

func newAdminBackend(fl caddycmd.Flags, name string) (*adminBackend, error) {
	addr, err := caddycmd.DetermineAdminAPIAddress(fl.String("address"), nil, fl.String("config"), fl.String("adapter"))
	if err != nil {
		return nil, fmt.Errorf("finding the admin API address: %w", err)
	}
	return &adminBackend{addr: addr, site: name}, nil
}

// do calls the admin API and decodes its JSON answer into out.
func (b *adminBackend) do(method, uri string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		rd = bytes.NewReader(raw)
	}
	resp, err := caddycmd.AdminAPIRequest(b.addr, method, uri, make(http.Header), rd)
	if err != nil {
		return fmt.Errorf("no Redis URL given (--redis or $%s), and the running Caddy's admin API at %s "+
			"answered: %w", RedisEnv, b.addr, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(out); err != nil {
		return fmt.Errorf("decoding admin API answer: %w", err)
	}
	return nil
}

func (b *adminBackend) add(_ context.Context, userID int64, description, permissions string) (NewKeyView, error) {
	var k NewKeyView
	err := b.do(http.MethodPost, adminKeysPath, AddKeyRequest{Site: b.site, UserID: userID, Description: description, Permissions: permissions}, &k)
	return k, err
}

func (b *adminBackend) list(context.Context) ([]KeyView, error) {
	var keys []KeyView
	err := b.do(http.MethodGet, adminKeysPath+"?site="+url.QueryEscape(b.site), nil, &keys)
	return keys, err
}

func (b *adminBackend) remove(_ context.Context, id int64) (bool, error) {
	var out map[string]any
	err := b.do(http.MethodDelete, adminKeysPath+"/"+strconv.FormatInt(id, 10)+"?site="+url.QueryEscape(b.site), nil, &out)
	if err != nil && strings.Contains(err.Error(), "HTTP 404") && strings.Contains(err.Error(), "not found for site") {
		return false, nil
	}
	return err == nil, err
}

func (b *adminBackend) close() {}

// Interface guards
var (
	_ keyBackend = (*redisBackend)(nil)
	_ keyBackend = (*adminBackend)(nil)
)
