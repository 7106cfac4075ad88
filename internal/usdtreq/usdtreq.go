// Package usdtreq hands USDT contexts from the public package bcc/usdt to
// bcc, which compiles them, without either exporting its internals: bcc
// imports bcc/usdt for the type of Options.USDTContexts, so bcc/usdt sets
// Requests from its init, and bcc calls it.
package usdtreq

import "github.com/gobcc/gobcc/internal/compiler"

// Requests turns Options.USDTContexts (a []*usdt.Context, passed as any so
// that this package needs neither) into the compile helper's requests,
// resolving each context's binary. bcc/usdt sets it; it is nil only in a
// program that does not link bcc/usdt, which then has no contexts.
var Requests func(contexts any) ([]compiler.USDTContext, error)
