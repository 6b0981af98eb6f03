# integration/egress/topology.sh - a simulated bottle for the egress lanes (sourced).
# Two network namespaces made here: H holds the sinks (192.0.2.1 on a veth, 198.51.100.1
# and .53 on its lo), G is the guest (192.0.2.2, default route via H). confine/open_all
# set the guest's nftables output policy. Documentation ranges only; nothing leaves.
H=bvh$$ G=bvg$$
cleanup() { ip netns del "$H" 2>/dev/null; ip netns del "$G" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
ip netns add "$H" && ip netns add "$G"
ip link add "vh$$" netns "$H" type veth peer name "vg$$" netns "$G"
ip -n "$H" link set lo up
ip -n "$H" addr add 192.0.2.1/24 dev "vh$$"
ip -n "$H" link set "vh$$" up
ip -n "$H" addr add 198.51.100.1/32 dev lo
ip -n "$H" addr add 198.51.100.53/32 dev lo
ip -n "$G" link set lo up
ip -n "$G" addr add 192.0.2.2/24 dev "vg$$"
ip -n "$G" link set "vg$$" up
ip -n "$G" route add default via 192.0.2.1
sleep 1 # let the veth settle (DAD, carrier)

confine() { # confine [extra nft rule]: only the control may leave the guest
	ip netns exec "$G" nft -f - <<NFT
flush ruleset
table inet bottle {
	chain out {
		type filter hook output priority 0; policy accept;
		oif lo accept
		ip daddr 192.0.2.1 tcp dport 7001 accept
		$1
		meta l4proto tcp reject with tcp reset
		drop
	}
}
NFT
}
open_all() { ip netns exec "$G" nft flush ruleset; }
