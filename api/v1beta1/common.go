package v1beta1

// AddressRange is one block of addresses: a CIDR ("192.0.2.0/24", "2001:db8::/64"), a range
// "first-last" of one family with first <= last ("192.0.2.10-192.0.2.20"), or a single address.
//
// CEL has no ordering on IPs, so the start <= end rule finds the longest prefix both ends share
// and checks that the next bit of the first address is 0. Prefix lengths are string literals,
// not string(int), because the API server's cost estimate of a converted int is unbounded.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=90
// +kubebuilder:validation:XValidation:rule="isCIDR(self) || isIP(self) || (self.split('-').size() == 2 && isIP(self.split('-')[0].trim()) && isIP(self.split('-')[1].trim()))",message="must be a CIDR (192.0.2.0/24), a range of two addresses 'first-last' (192.0.2.10-192.0.2.20) or a single address"
// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).ip() == cidr(self).masked().ip()",messageExpression="'CIDR ' + self + ' has host bits set: write the network address, such as 192.0.2.0/24 rather than 192.0.2.1/24'"
// +kubebuilder:validation:XValidation:rule="self.split('-').size() != 2 || !isIP(self.split('-')[0].trim()) || !isIP(self.split('-')[1].trim()) || ip(self.split('-')[0].trim()).family() == ip(self.split('-')[1].trim()).family()",message="the two ends of a range must be of the same IP family"
// +kubebuilder:validation:XValidation:rule="self.split('-').size() != 2 || !isIP(self.split('-')[0].trim()) || !isIP(self.split('-')[1].trim()) || ip(self.split('-')[0].trim()).family() != ip(self.split('-')[1].trim()).family() || ip(self.split('-')[0].trim()) == ip(self.split('-')[1].trim()) || ['0,1','1,2','2,3','3,4','4,5','5,6','6,7','7,8','8,9','9,10','10,11','11,12','12,13','13,14','14,15','15,16','16,17','17,18','18,19','19,20','20,21','21,22','22,23','23,24','24,25','25,26','26,27','27,28','28,29','29,30','30,31','31,32','32,33','33,34','34,35','35,36','36,37','37,38','38,39','39,40','40,41','41,42','42,43','43,44','44,45','45,46','46,47','47,48','48,49','49,50','50,51','51,52','52,53','53,54','54,55','55,56','56,57','57,58','58,59','59,60','60,61','61,62','62,63','63,64','64,65','65,66','66,67','67,68','68,69','69,70','70,71','71,72','72,73','73,74','74,75','75,76','76,77','77,78','78,79','79,80','80,81','81,82','82,83','83,84','84,85','85,86','86,87','87,88','88,89','89,90','90,91','91,92','92,93','93,94','94,95','95,96','96,97','97,98','98,99','99,100','100,101','101,102','102,103','103,104','104,105','105,106','106,107','107,108','108,109','109,110','110,111','111,112','112,113','113,114','114,115','115,116','116,117','117,118','118,119','119,120','120,121','121,122','122,123','123,124','124,125','125,126','126,127','127,128'].exists(p, (ip(self.split('-')[0].trim()).family() == 6 || int(p.split(',')[0]) < 32) && cidr(self.split('-')[0].trim() + '/' + p.split(',')[0]).containsIP(ip(self.split('-')[1].trim())) && !cidr(self.split('-')[0].trim() + '/' + p.split(',')[1]).containsIP(ip(self.split('-')[1].trim())) && cidr(self.split('-')[0].trim() + '/' + p.split(',')[1]).masked().ip() == cidr(self.split('-')[0].trim() + '/' + p.split(',')[0]).masked().ip())",message="the first address of a range must not be greater than the last"
type AddressRange string

// CommunityValue is a BGP community: a standard community "AA:NN" (each part 0-65535), a large
// community "large:A:B:C" (each part 0-4294967295), or the name of an alias defined in a
// Community object.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=80
// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]+:[0-9]+$') || self.matches('^large:[0-9]+:[0-9]+:[0-9]+$') || self.matches('^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$')",message="must be a standard community 'AA:NN', a large community 'large:A:B:C', or the name of a Community alias (lower case letters, digits, '-', '.', '_')"
// +kubebuilder:validation:XValidation:rule="!self.matches('^[0-9]+:[0-9]+$') || (size(self.split(':')[0]) <= 5 && size(self.split(':')[1]) <= 5 && int(self.split(':')[0]) <= 65535 && int(self.split(':')[1]) <= 65535)",message="each part of a standard community 'AA:NN' must be between 0 and 65535"
// +kubebuilder:validation:XValidation:rule="!self.matches('^large:[0-9]+:[0-9]+:[0-9]+$') || self.split(':').all(p, p == 'large' || (size(p) <= 10 && int(p) <= 4294967295))",message="each part of a large community 'large:A:B:C' must be between 0 and 4294967295"
type CommunityValue string

// ObjectName is the name of another Herald object in the same namespace.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
type ObjectName string

// InterfaceName is the name of a network interface on a node, such as "eth0" or "bond0.100".
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=15
// +kubebuilder:validation:Pattern=`^[^\s/:]+$`
type InterfaceName string

// IPAddress is a single IPv4 or IPv6 address without a prefix length or zone.
//
// +kubebuilder:validation:MaxLength=45
// +kubebuilder:validation:XValidation:rule="isIP(self)",message="must be an IPv4 or IPv6 address such as 192.0.2.1 or 2001:db8::1"
type IPAddress string
