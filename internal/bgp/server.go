package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/server"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// gobgpServer is one GoBGP BgpServer and its logger. It is started once (StartBgp) and then
// serves one peer after another: its Serve goroutine cannot be ended, and each StartBgp writes
// GoBGP's package-level route-selection variables (see the package doc).
type gobgpServer struct {
	srv *server.BgpServer
	log *gobgpLogger
	// routerID is what the server was started with; invalid while stopped.
	routerID netip.Addr
}

func newGoBGPServer() *gobgpServer {
	l := &gobgpLogger{}
	s := &gobgpServer{srv: server.NewBgpServer(server.LoggerOption(l)), log: l}
	go s.srv.Serve()
	return s
}

// peerSession is an applied Peer: its server and the paths it carries.
type peerSession struct {
	*gobgpServer
	peer  Peer
	paths map[netip.Prefix]attrs
}

func secs(d time.Duration) uint64 { return uint64((d + time.Second - 1) / time.Second) }

var (
	familyIPv4 = &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	familyIPv6 = &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
)

func apiFamily(a netip.Addr) *api.Family {
	if a.Is4() {
		return familyIPv4
	}
	return familyIPv6
}

// ensureStarted starts the server with routerID, restarting it if it runs with another one.
// The global ASN is the first peer's; every neighbor sets its own local ASN.
func (g *gobgpServer) ensureStarted(ctx context.Context, routerID netip.Addr, asn uint32) error {
	if g.routerID == routerID {
		return nil
	}
	if err := g.stop(ctx); err != nil {
		return err
	}
	err := g.srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn:        asn,
		RouterId:   routerID.String(),
		ListenPort: -1, // active connections only: never listen on the node
	}})
	if err != nil {
		return fmt.Errorf("start GoBGP: %w", err)
	}
	g.routerID = routerID
	return nil
}

// stop stops the server if it runs; its sessions are gone after it returns.
func (g *gobgpServer) stop(ctx context.Context) error {
	if !g.routerID.IsValid() {
		return nil
	}
	g.routerID = netip.Addr{}
	if err := g.srv.StopBgp(ctx, &api.StopBgpRequest{}); err != nil {
		return fmt.Errorf("stop GoBGP: %w", err)
	}
	return nil
}

// start adds ps.peer as the server's only neighbor, starting the server first if needed.
func (ps *peerSession) start(ctx context.Context, routerID netip.Addr, connectRetry time.Duration, log *slog.Logger) error {
	p := ps.peer
	ps.log.setLogger(log.With("peer", p.Name, "address", p.Address))
	if err := ps.ensureStarted(ctx, routerID, p.MyASN); err != nil {
		return fmt.Errorf("peer %q: %w", p.Name, err)
	}
	ap := &api.Peer{
		Conf: &api.PeerConf{
			NeighborAddress: p.Address.String(),
			PeerAsn:         p.PeerASN,
			LocalAsn:        p.MyASN,
			AuthPassword:    p.Password,
			Description:     p.Name,
		},
		Timers: &api.Timers{Config: &api.TimersConfig{
			ConnectRetry:      secs(connectRetry),
			HoldTime:          secs(p.HoldTime),
			KeepaliveInterval: secs(p.KeepaliveTime),
		}},
		Transport: &api.Transport{RemotePort: uint32(p.Port)},
	}
	if p.SourceAddress.IsValid() {
		ap.Transport.LocalAddress = p.SourceAddress.String()
	}
	if p.EBGPMultiHop && !p.ibgp() {
		ap.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: 255}
	}
	if p.GracefulRestart {
		ap.GracefulRestart = &api.GracefulRestart{Enabled: true, RestartTime: uint32(secs(p.RestartTime))}
	}
	for _, f := range []struct {
		fam  Family
		afis *api.Family
	}{{FamilyIPv4, familyIPv4}, {FamilyIPv6, familyIPv6}} {
		if p.families()&f.fam == 0 {
			continue
		}
		as := &api.AfiSafi{Config: &api.AfiSafiConfig{Family: f.afis, Enabled: true}}
		if p.GracefulRestart {
			as.MpGracefulRestart = &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}}
		}
		ap.AfiSafis = append(ap.AfiSafis, as)
	}
	if err := ps.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: ap}); err != nil {
		return fmt.Errorf("add peer %q: %w", p.Name, err)
	}
	return nil
}

// stop ends the session and clears the server's paths, leaving the server running for the
// next peer. With graceful, the session's socket is shut down first, so that the router sees
// the connection end without a NOTIFICATION and keeps the routes (see the package doc);
// otherwise GoBGP sends Cease and the router withdraws them.
func (ps *peerSession) stop(ctx context.Context, graceful bool) error {
	var shutdownErr error
	if graceful {
		if st, ok := ps.state(ctx); ok && st.SessionState == api.PeerState_ESTABLISHED {
			shutdownErr = shutdownSession(netip.AddrPortFrom(ps.peer.Address, ps.peer.Port))
		}
	}
	err := ps.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: ps.peer.Address.String()})
	if err != nil {
		err = fmt.Errorf("delete peer %q: %w", ps.peer.Name, err)
		// The server is in an unknown state: stop it, the next peer starts it again.
		return errors.Join(err, ps.gobgpServer.stop(ctx))
	}
	// No neighbor is left, so this withdraws nothing on the wire.
	if err := ps.srv.DeletePath(ctx, &api.DeletePathRequest{TableType: api.TableType_GLOBAL}); err != nil {
		return errors.Join(fmt.Errorf("clear the paths of peer %q: %w", ps.peer.Name, err), ps.gobgpServer.stop(ctx))
	}
	if shutdownErr != nil {
		return fmt.Errorf("graceful stop of peer %q (the router may have dropped the routes): %w", ps.peer.Name, shutdownErr)
	}
	return nil
}

type peerStatus struct {
	*api.Peer
	SessionState api.PeerState_SessionState
}

// state reads the neighbor's state from GoBGP.
func (ps *peerSession) state(ctx context.Context) (peerStatus, bool) {
	var st peerStatus
	found := false
	err := ps.srv.ListPeer(ctx, &api.ListPeerRequest{Address: ps.peer.Address.String(), EnableAdvertised: true}, func(p *api.Peer) {
		st.Peer = p
		found = true
		if p.State != nil {
			st.SessionState = p.State.SessionState
		}
	})
	return st, err == nil && found
}

// announce adds or replaces the path of pfx.
func (ps *peerSession) announce(ctx context.Context, pfx netip.Prefix, a attrs) error {
	path, err := ps.path(pfx, a)
	if err != nil {
		return err
	}
	if _, err := ps.srv.AddPath(ctx, &api.AddPathRequest{TableType: api.TableType_GLOBAL, Path: path}); err != nil {
		return fmt.Errorf("announce %v to peer %q: %w", pfx, ps.peer.Name, err)
	}
	return nil
}

// withdraw removes the path of pfx.
func (ps *peerSession) withdraw(ctx context.Context, pfx netip.Prefix) error {
	path, err := ps.path(pfx, attrs{})
	if err != nil {
		return err
	}
	err = ps.srv.DeletePath(ctx, &api.DeletePathRequest{TableType: api.TableType_GLOBAL, Family: path.Family, Path: path})
	if err != nil {
		return fmt.Errorf("withdraw %v from peer %q: %w", pfx, ps.peer.Name, err)
	}
	return nil
}

// path builds the GoBGP path of pfx for this peer. The next hop is left unspecified, which
// GoBGP replaces with the local address of the session, except for a prefix of the other
// family, which takes CrossFamilyNextHop.
func (ps *peerSession) path(pfx netip.Prefix, a attrs) (*api.Path, error) {
	nlri, err := anypb.New(&api.IPAddressPrefix{Prefix: pfx.Addr().String(), PrefixLen: uint32(pfx.Bits())})
	if err != nil {
		return nil, err
	}
	nextHop := netip.IPv4Unspecified()
	if pfx.Addr().Is6() {
		nextHop = netip.IPv6Unspecified()
	}
	if pfx.Addr().Is4() != ps.peer.Address.Is4() {
		nextHop = ps.peer.CrossFamilyNextHop
	}
	var pattrs []*anypb.Any
	add := func(m proto.Message) error {
		x, err := anypb.New(m)
		if err != nil {
			return err
		}
		pattrs = append(pattrs, x)
		return nil
	}
	if err := add(&api.OriginAttribute{Origin: 0}); err != nil { // IGP
		return nil, err
	}
	fam := apiFamily(pfx.Addr())
	if pfx.Addr().Is4() {
		err = add(&api.NextHopAttribute{NextHop: nextHop.String()})
	} else {
		err = add(&api.MpReachNLRIAttribute{Family: fam, NextHops: []string{nextHop.String()}, Nlris: []*anypb.Any{nlri}})
	}
	if err != nil {
		return nil, err
	}
	var std []uint32
	var large []*api.LargeCommunity
	for _, c := range a.communities {
		if c.large {
			large = append(large, &api.LargeCommunity{GlobalAdmin: c.a, LocalData1: c.b, LocalData2: c.c})
		} else {
			std = append(std, c.a)
		}
	}
	if len(std) > 0 {
		if err := add(&api.CommunitiesAttribute{Communities: std}); err != nil {
			return nil, err
		}
	}
	if len(large) > 0 {
		if err := add(&api.LargeCommunitiesAttribute{Communities: large}); err != nil {
			return nil, err
		}
	}
	if a.localPref != nil && ps.peer.ibgp() {
		if err := add(&api.LocalPrefAttribute{LocalPref: *a.localPref}); err != nil {
			return nil, err
		}
	}
	return &api.Path{Family: fam, Nlri: nlri, Pattrs: pattrs}, nil
}
