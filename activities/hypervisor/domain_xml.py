"""Builds the libvirt domain XML of a server from its flavor, image, ports and volumes."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from activities.types.hypervisor import SpawnInput

METADATA_NS = "http://novaflow.dev/xmlns/instance/1.0"


def domain_name(server_id: str) -> str:
    """The libvirt name of a server's domain."""
    return f"instance-{server_id}"


def build_domain_xml(inp: SpawnInput, virt_type: str, images_dir: str) -> str:
    """Domain XML for ``inp``; ``virt_type`` is the domain type (kvm, qemu, test)."""
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
