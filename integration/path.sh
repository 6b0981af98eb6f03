# integration/path.sh - the sbin directories on PATH, after what PATH already names: the
# lanes (integration/lib.sh), the sim library (integration/sim/lib.sh: the demo, the benches)
# and make faults run ip, nft, sysctl and dnsmasq as root finds them, and a user's PATH often
# lacks /usr/sbin and /sbin, where Debian keeps nft, sysctl and dnsmasq. Sourced, never run.
for _d in /usr/local/sbin /usr/sbin /sbin; do
	case ":$PATH:" in *":$_d:"*) ;; *) PATH="${PATH:+$PATH:}$_d" ;; esac
done
export PATH
