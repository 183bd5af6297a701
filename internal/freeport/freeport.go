// Package freeport picks loopback TCP ports for the test servers the tests
// start as child processes (redis-server, Caddy).
//
// A port taken with Listen("127.0.0.1:0") and closed again comes from the
// kernel's ephemeral range, which every outgoing connection of every
// process also draws from: between the pick and the child's bind, a client
// socket elsewhere can take it, and the child fails with "address already
// in use". Pick chooses at random below that range instead, where only
// explicit binds land, and checks the port is free.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// lowest is the bottom of the range Pick draws from (ports below are left
// to system and well-known services).
const lowest = 10000

// ephemeralRange is where Linux documents its default ephemeral range
// ("32768 60999").
const ephemeralRange = "/proc/sys/net/ipv4/ip_local_port_range"

// Pick returns a loopback port that was free a moment ago, outside the
// ephemeral range when it can find one there (it falls back to a kernel
// pick otherwise).
func Pick() (int, error) {
	top := ephemeralLow()
	for attempt := 0; top-lowest > 1000 && attempt < 50; attempt++ {
		port := lowest + rand.IntN(top-lowest)
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			_ = l.Close()
			return port, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range (0 when
// it cannot be read, which makes Pick use a kernel pick).
func ephemeralLow() int {
	b, err := os.ReadFile(ephemeralRange)
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil {
		return 0
	}
	return low
}
