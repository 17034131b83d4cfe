// Package model is the one namespace model every consumer of a namespace's
// resolution shares: the only conversion from orgrbac objects to the resolver's
// input ([Input], [Compile]), and one compiled environment per namespace
// ([Cache]), gathered from the manager's cache with a fixed number of reads
// ([Read]) and invalidated by one set of event handlers ([Cache.Invalidator]).
//
// The controllers (Membership, Organization, GroupMapping, Environment and the
// publisher) take their *resolve.Env from one [Cache]; the decision API and
// kubectl orgrbac hold their own objects and convert them with [Compile].
// internal/resolve stays pure: this package is where objects meet it.
package model
