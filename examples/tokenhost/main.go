// Command tokenhost is a Go host of authos-credential-plugin: it gets a
// token through tokensource and says whose it is, without printing it. A
// quick check that the plugin, the cache and the sign-in work:
//
//	go run ./examples/tokenhost [--profile NAME] [--plugin PATH] [--status] [--logout]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/authos/authos-credential-helper/tokensource"
)

func main() {
	var id tokensource.Identity
	flag.StringVar(&id.Profile, "profile", "", "profile `name` from config.toml")
	flag.StringVar(&id.Server, "server", "", "AuthOS base `URL`")
	flag.StringVar(&id.Org, "org", "", "organization `slug`")
	flag.StringVar(&id.Service, "service", "", "service `slug`")
	flag.StringVar(&id.ClientID, "client-id", "", "client `id`")
	pluginPath := flag.String("plugin", "", "plugin binary `path` (default: authos-credential-plugin on PATH)")
	status := flag.Bool("status", false, "describe the cached token instead of getting one")
	logout := flag.Bool("logout", false, "sign out instead of getting a token")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(id, *pluginPath, *status, *logout); err != nil {
		fmt.Fprintln(os.Stderr, "tokenhost:", err)
		os.Exit(1)
	}
}

func run(id tokensource.Identity, pluginPath string, status, logout bool) error {
	src, err := tokensource.New(tokensource.Config{
		Identity: id,
		Plugin:   pluginPath,
		Prompt:   func(p tokensource.Prompt) { fmt.Fprintln(os.Stderr, "tokenhost:", p.Message) },
		Log:      os.Stderr,
	})
	if err != nil {
		return err
	}
	defer src.Close()
	ctx := context.Background()
	switch {
	case logout:
		r, err := src.Logout(ctx)
		if err != nil {
			return err
		}
		switch {
		case !r.Found:
			fmt.Printf("not signed in to %s/%s at %s\n", r.Identity.Org, r.Identity.Service, r.Identity.Server)
		case r.Revoked:
			fmt.Printf("signed out of %s/%s at %s\n", r.Identity.Org, r.Identity.Service, r.Identity.Server)
		default:
			fmt.Printf("deleted the local token for %s/%s at %s; the server said: %s\n", r.Identity.Org, r.Identity.Service, r.Identity.Server, r.RevokeError)
		}
	case status:
		st, err := src.Status(ctx)
		if err != nil {
			return err
		}
		if !st.Cached {
			fmt.Printf("no token cached for %s/%s at %s\n", st.Identity.Org, st.Identity.Service, st.Identity.Server)
			return nil
		}
		fmt.Printf("%s/%s at %s: %s (%s), valid %v, expires %s\n", st.Identity.Org, st.Identity.Service, st.Identity.Server,
			st.Email, st.Subject, st.Valid, st.ExpiresAt.Local().Format(time.DateTime))
	default:
		tok, err := src.Token()
		if err != nil {
			return err
		}
		fmt.Printf("got a %s token for %v (subject %v), valid until %s, from the cache: %v\n",
			tok.TokenType, tok.Extra("email"), tok.Extra("subject"), tok.Expiry.Local().Format(time.DateTime), tok.Extra("from_cache"))
	}
	return nil
}
