package sniff

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
)

// linkName is the name tcpdump and libpcap give a common link type (its
// DLT_ name without the prefix), so an error names a link type as the
// user's other tools do; "" for one sniff does not know.
func linkName(link layers.LinkType) string {
	switch link {
	case 0:
		return "NULL"
	case 1:
		return "EN10MB"
	case 6:
		return "IEEE802"
	case 9:
		return "PPP"
	case 10:
		return "FDDI"
	case 12, 101:
		return "RAW"
	case 104:
		return "C_HDLC"
	case 105:
		return "IEEE802_11"
	case 108:
		return "LOOP"
	case 113:
		return "LINUX_SLL"
	case 127:
		return "IEEE802_11_RADIO"
	case 187:
		return "BLUETOOTH_HCI_H4"
	case 189:
		return "USB_LINUX"
	case 195:
		return "IEEE802_15_4"
	case 220:
		return "USB_LINUX_MMAPPED"
	case 228:
		return "IPV4"
	case 229:
		return "IPV6"
	case 239:
		return "NFLOG"
	case 249:
		return "USBPCAP"
	case 253:
		return "NETLINK"
	case 276:
		return "LINUX_SLL2"
	}
	return ""
}

// LinkTypeName is a link type as "NUMBER (NAME)": libpcap's name where
// sniff knows it, gopacket's otherwise.
func LinkTypeName(link layers.LinkType) string {
	if n := linkName(link); n != "" {
		return fmt.Sprintf("%d (%s)", link, n)
	}
	return fmt.Sprintf("%d (%s)", link, link)
}
