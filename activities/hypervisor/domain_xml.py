"""Builds the libvirt domain XML of a server from its flavor, image, ports and volumes."""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from activities.types.hypervisor import SpawnInput

if TYPE_CHECKING:
    from activities.hypervisor.guest_files import GuestPaths

METADATA_NS = "http://novaflow.dev/xmlns/instance/1.0"


def domain_name(server_id: str) -> str:
    """The libvirt name of a server's domain."""
    return f"instance-{server_id}"


def build_domain_xml(inp: SpawnInput, virt_type: str, images_dir: str,
                     guest: GuestPaths | None = None, host: str = "") -> str:
    """Domain XML for ``inp``; ``virt_type`` is the domain type (kvm, qemu, test).

    With ``guest`` (a real hypervisor) the XML names the files the host made
    for it (see real_guest_xml); without, the test driver's minimal shape.
    """
    if guest is not None:
        return real_guest_xml(inp, virt_type, guest, host)
    arch = inp.image.properties.get("hw_architecture") or "x86_64"
    disk_bus = inp.image.properties.get("hw_disk_bus") or "virtio"
    interfaces = "".join(
        f"""
    <interface type='bridge'>
      <mac address={quoteattr(p.mac_address)}/>
      <source bridge='br-int'/>
      <model type='virtio'/>
    </interface>"""
        for p in inp.ports
    )
    ports_meta = "".join(
        f"<nf:port id={quoteattr(p.id)} ip={quoteattr(p.ip_address)}/>" for p in inp.ports
    )
    disk_path = f"{images_dir}/{inp.server_id}/disk"
    volumes = list(getattr(inp, "volumes", None) or [])
    # Booted from a volume: the volume is the root disk and there is no local one.
    local_root = "" if any(v.boot_index == 0 for v in volumes) else f"""
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file={quoteattr(disk_path)}/>
      <target dev='vda' bus={quoteattr(disk_bus)}/>
    </disk>"""
    volume_disks = "".join(
        f"""
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source file={quoteattr(v.path)}/>
      <target dev={quoteattr(v.device)} bus={quoteattr(disk_bus)}/>
      <serial>{escape(v.volume_id[:20])}</serial>
    </disk>"""
        for v in sorted(volumes, key=lambda v: v.device)
    )
    volumes_meta = "".join(
        f"<nf:volume id={quoteattr(v.volume_id)} device={quoteattr(v.device)}/>"
        for v in volumes
    )
    return f"""<domain type={quoteattr(virt_type)}>
  <name>{domain_name(inp.server_id)}</name>
  <uuid>{inp.server_id}</uuid>
  <title>{escape(inp.name)}</title>
  <metadata>
    <nf:instance xmlns:nf="{METADATA_NS}">
      <nf:name>{escape(inp.name)}</nf:name>
      <nf:project>{escape(inp.project_id)}</nf:project>
      <nf:flavor name={quoteattr(inp.flavor.name)} vcpus='{inp.flavor.vcpus}'
                 memory_mb='{inp.flavor.memory_mb}' disk_gb='{inp.flavor.root_gb}'/>
      <nf:image id={quoteattr(inp.image.id)} name={quoteattr(inp.image.name)}/>
      <nf:ports>{ports_meta}</nf:ports>
      <nf:volumes>{volumes_meta}</nf:volumes>
    </nf:instance>
  </metadata>
  <memory unit='MiB'>{inp.flavor.memory_mb}</memory>
  <currentMemory unit='MiB'>{inp.flavor.memory_mb}</currentMemory>
  <vcpu placement='static'>{inp.flavor.vcpus}</vcpu>
  <os>
    <type arch={quoteattr(arch)}>hvm</type>
    <boot dev='hd'/>
  </os>
  <devices>{local_root}{volume_disks}{interfaces}
  </devices>
</domain>"""


def _disk(path: str, dev: str, fmt: str, bus: str = "virtio") -> str:
    return f"""
    <disk type='file' device='disk'>
      <driver name='qemu' type='{fmt}' cache='none'/>
      <source file={quoteattr(path)}/>
      <target dev='{dev}' bus='{bus}'/>
    </disk>"""


def _serial_console(guest: GuestPaths) -> str:
    """The serial port, logged by virtlogd; with a ``serial_port`` it also
    listens on that TCP port of 127.0.0.1 (Nova's serial console), else on a pty."""
    log = f"<log file={quoteattr(guest.console_log)} append='on'/>"
    port = getattr(guest, "serial_port", None)
    if not port:
        return f"""
    <serial type='pty'>
      {log}
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>"""
    source = f"<source mode='bind' host='127.0.0.1' service='{int(port)}'/>"
    return f"""
    <serial type='tcp'>
      {source}
      <protocol type='raw'/>
      {log}
      <target port='0'/>
    </serial>
    <console type='tcp'>
      {source}
      <protocol type='raw'/>
      <target type='serial' port='0'/>
    </console>"""


def network_interface_xml(mac_address: str, network: str) -> str:
    """A real guest's NIC: a virtio interface with the port's MAC on its
    network's libvirt network (activities/hypervisor/networks.py)."""
    return (f"<interface type='network'><mac address={quoteattr(mac_address)}/>"
            f"<source network={quoteattr(network)}/><model type='virtio'/></interface>")


def real_guest_xml(inp: SpawnInput, virt_type: str, guest: GuestPaths, host: str) -> str:
    """A bootable QEMU/KVM domain: ACPI (for clean shutdown), the disks and
    config drive cdrom, one interface per port on its network's libvirt
    network with the port's MAC, the serial console logged by virtlogd
    (which rotates ``console.log``) and listening on its TCP port, and a VNC
    screen on 127.0.0.1 (the remote consoles).  The owning host is in the metadata, so
    several simulated hosts can share one libvirtd."""
    props = inp.image.properties or {}
    arch = props.get("hw_architecture") or "x86_64"
    bus = props.get("hw_disk_bus") or "virtio"
    boot = (f"""
    <kernel>{escape(guest.kernel)}</kernel>""" if guest.kernel else "") + (f"""
    <initrd>{escape(guest.ramdisk)}</initrd>""" if guest.ramdisk else "") + (f"""
    <cmdline>{escape(guest.cmdline or "")}</cmdline>""" if guest.kernel else "") + ("""
    <boot dev='hd'/>""" if not guest.kernel else "")
    devs = []
    letters = iter("abcdefghijklmnop")
    if guest.disk:
        devs.append(_disk(guest.disk, f"vd{next(letters)}", "qcow2", bus))
    if guest.ephemeral:
        devs.append(_disk(guest.ephemeral, f"vd{next(letters)}", "qcow2", bus))
    if guest.swap:
        devs.append(_disk(guest.swap, f"vd{next(letters)}", "raw", bus))
    for v in sorted(inp.volumes, key=lambda v: v.device):
        devs.append(_disk(v.path, v.device.rsplit("/", 1)[-1], "raw", bus))
    if guest.config_drive:
        devs.append(f"""
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file={quoteattr(guest.config_drive)}/>
      <target dev='hdd' bus='ide'/>
      <readonly/>
    </disk>""")
    for p in inp.ports:
        devs.append("\n    " + network_interface_xml(p.mac_address, guest.networks[p.id]))
    devs.append(_serial_console(guest) + """
    <graphics type='vnc' listen='127.0.0.1' autoport='yes'/>
    <memballoon model='none'/>""")
    ports_meta = "".join(
        f"<nf:port id={quoteattr(p.id)} ip={quoteattr(p.ip_address)}/>" for p in inp.ports)
    return f"""<domain type={quoteattr(virt_type)}>
  <name>{domain_name(inp.server_id)}</name>
  <uuid>{inp.server_id}</uuid>
  <title>{escape(inp.name)}</title>
  <metadata>
    <nf:instance xmlns:nf="{METADATA_NS}">
      <nf:host>{escape(host)}</nf:host>
      <nf:name>{escape(inp.name)}</nf:name>
      <nf:project>{escape(inp.project_id)}</nf:project>
      <nf:flavor name={quoteattr(inp.flavor.name)} vcpus='{inp.flavor.vcpus}'
                 memory_mb='{inp.flavor.memory_mb}' disk_gb='{inp.flavor.root_gb}'/>
      <nf:image id={quoteattr(inp.image.id)} name={quoteattr(inp.image.name)}/>
      <nf:ports>{ports_meta}</nf:ports>
    </nf:instance>
  </metadata>
  <memory unit='MiB'>{inp.flavor.memory_mb}</memory>
  <currentMemory unit='MiB'>{inp.flavor.memory_mb}</currentMemory>
  <vcpu placement='static'>{inp.flavor.vcpus}</vcpu>
  <os>
    <type arch={quoteattr(arch)} machine='pc'>hvm</type>{boot}
  </os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>{"".join(devs)}
  </devices>
</domain>"""


def owner_host(dom_xml_metadata: str) -> str:
    """The host named in a domain's novaflow metadata ('' when none)."""
    start = dom_xml_metadata.find("host>")
    if start < 0:
        return ""
    end = dom_xml_metadata.find("<", start)
    return dom_xml_metadata[start + 5:end].strip()
