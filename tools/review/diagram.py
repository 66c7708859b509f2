"""The architecture diagram of one environment, drawn as SVG from its templates.

Top: the allowed flows (``review.flows``) between the security groups and the internet, each
group labelled with what uses it (the ALB, the ECS service, the interface endpoints, the
agent task definitions) and the stack that lives in. One colour per source group; each port
label sits where it covers no box or earlier label, so that crossing flows stay readable.
Bottom: one box per stack with what it holds (load balancer, services, agents, keys, logs),
naming each data store (buckets, tables, file systems, secrets, repositories, queues). Plain
SVG written by hand: no graphviz, no fonts to fetch, the same bytes for the same templates.
"""

from __future__ import annotations

import math
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from tools.review import flows
from tools.stack_template import StackTemplate

# What the stack boxes list, in this order: resource type -> (singular, plural).
SHOWN_TYPES: tuple[tuple[str, str, str], ...] = (
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "load balancer", "load balancers"),
    ("AWS::WAFv2::WebACL", "WAF web ACL", "WAF web ACLs"),
    ("AWS::ECS::Cluster", "ECS cluster", "ECS clusters"),
    ("AWS::ECS::Service", "ECS service", "ECS services"),
    ("AWS::ECS::TaskDefinition", "task definition", "task definitions"),
    ("AWS::Lambda::Function", "Lambda function", "Lambda functions"),
    ("AWS::EC2::VPC", "VPC", "VPCs"),
    ("AWS::EC2::NatGateway", "NAT gateway", "NAT gateways"),
    ("AWS::EC2::VPCEndpoint", "VPC endpoint", "VPC endpoints"),
    ("AWS::EC2::SecurityGroup", "security group", "security groups"),
    ("AWS::S3::Bucket", "S3 bucket", "S3 buckets"),
    ("AWS::DynamoDB::Table", "DynamoDB table", "DynamoDB tables"),
    ("AWS::EFS::FileSystem", "EFS file system", "EFS file systems"),
    ("AWS::ECR::Repository", "ECR repository", "ECR repositories"),
    ("AWS::SecretsManager::Secret", "secret", "secrets"),
    ("AWS::Events::EventBus", "event bus", "event buses"),
    ("AWS::SNS::Topic", "SNS topic", "SNS topics"),
    ("AWS::CloudWatch::Alarm", "CloudWatch alarm", "CloudWatch alarms"),
    ("AWS::CloudWatch::Dashboard", "CloudWatch dashboard", "CloudWatch dashboards"),
    ("AWS::SQS::Queue", "SQS queue", "SQS queues"),
    ("AWS::CloudTrail::Trail", "CloudTrail trail", "CloudTrail trails"),
    ("AWS::Logs::LogGroup", "log group", "log groups"),
    ("AWS::KMS::Key", "KMS key", "KMS keys"),
    ("AWS::IAM::Role", "IAM role", "IAM roles"),
)
_SG_KEYS = ("SecurityGroups", "SecurityGroupIds")

NODE_W, NODE_H = 210, 80
COL_GAP, ROW_GAP = 150, 60
BOX_W, LINE_H = 330, 16
BOX_CHARS, NODE_CHARS = 46, 32  # characters per line in a stack box, in a group box
MARGIN = 24
FONT = "font-family='Helvetica, Arial, sans-serif'"


@dataclass(frozen=True)
class Node:
    name: str
    detail: str
    home: str
    x: float
    y: float

    @property
    def cx(self) -> float:
        return self.x + NODE_W / 2

    @property
    def cy(self) -> float:
        return self.y + NODE_H / 2


# How the diagram names what a security group is attached to, by resource type.
_KIND_LABELS = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("ALB", "ALBs"),
    "AWS::ECS::Service": ("ECS service", "ECS services"),
    "AWS::Lambda::Function": ("Lambda", "Lambda functions"),
    "AWS::EC2::VPCEndpoint": ("interface endpoint", "interface endpoints"),
    "AWS::EFS::MountTarget": ("EFS mount target", "EFS mount targets"),
}


def _owner(path: str) -> str:
    """``FrontDoor/LoadBalancer`` -> ``FrontDoor``: the construct below the stack that owns it."""
    return path.split("/", 1)[0]


def _attachments(stacks: Sequence[StackTemplate]) -> dict[str, tuple[list[str], list[str]]]:
    """Security group name -> what uses it (``ALB FrontDoor``, ``3 EFS mount targets``) and
    the stacks those live in."""
    bodies = [s.body for s in stacks]
    groups = flows.security_groups(bodies)
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    homes: dict[str, set[str]] = defaultdict(set)
    services_task_defs: set[str] = set()
    for stack in stacks:
        for logical_id, resource in sorted(stack.resources.items()):
            props = resource.get("Properties", {})
            kind = resource.get("Type", "")
            if kind == "AWS::ECS::Service":
                services_task_defs.add(stack.render(props.get("TaskDefinition")))
            holders = [props.get(k) for k in _SG_KEYS]
            holders.append(
                props.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {}).get("SecurityGroups")
            )
            holders.append(props.get("VpcConfig", {}).get("SecurityGroupIds"))
            for group_id, group_name in groups.items():
                if any(stack.refers_to(h, group_id) for h in holders if h is not None):
                    found[group_name][kind].append(_owner(stack.name(logical_id)))
                    homes[group_name].add(stack.short)
    used: dict[str, list[str]] = defaultdict(list)
    for group_name, kinds in found.items():
        for kind, names in sorted(kinds.items()):
            one, many = _KIND_LABELS.get(kind, (kind.split("::")[-1], kind.split("::")[-1] + "s"))
            used[group_name].append(f"{one} {names[0]}" if len(names) == 1 else f"{len(names)} {many}")
    # Agents are launched per job with RunTask: their group is attached at run time. The task
    # definitions no service runs are the agents'; they go with the group named for agents.
    agents = [
        (_short(stack.name(logical_id)), stack.short)
        for stack in stacks
        for logical_id, _ in stack.of_type("AWS::ECS::TaskDefinition")
        if stack.name(logical_id) not in services_task_defs
    ]
    for group_name in set(groups.values()):
        if "agent" in group_name.lower() and agents and not used[group_name]:
            used[group_name].append("tasks: " + ", ".join(sorted(name for name, _ in agents)))
            homes[group_name].update(home for _, home in agents)
    return {name: (used[name], sorted(homes[name])) for name in used}


def _short(path: str) -> str:
    """``Agents/Claude/TaskDef`` -> ``Claude``: the last segment that is not a CDK default id."""
    segments = [p for p in path.split("/") if p not in ("TaskDef", "TaskDefinition", "Resource", "Default")]
    return segments[-1] if segments else path


INBOUND, OUTBOUND = "internet (in)", "internet (out)"


def _layers(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Column of each node: the longest path from the inbound internet; a group nothing
    reaches sits just before what it talks to; the outbound internet comes last."""
    nexts: dict[str, set[str]] = defaultdict(set)
    prevs: dict[str, set[str]] = defaultdict(set)
    for source, destination in edges:
        nexts[source].add(destination)
        prevs[destination].add(source)
    layer = {INBOUND: 0}
    for _ in range(len(nodes)):  # longest path, bounded: a cycle cannot loop forever
        for source in sorted(layer):
            for following in sorted(nexts[source]):
                if following != OUTBOUND and layer.get(following, -1) < layer[source] + 1 <= len(nodes):
                    layer[following] = layer[source] + 1
    for node in sorted(nodes):
        if node not in layer and node != OUTBOUND:
            reached = [layer[n] for n in nexts[node] if n in layer]
            layer[node] = max(min(reached) - 1, 1) if reached else 1
    layer[OUTBOUND] = max([layer[p] + 1 for p in prevs[OUTBOUND]] or [1])
    return {n: layer[n] for n in nodes}


def _bezier(p0: float, control: float, p1: float, t: float) -> float:
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * control + t**2 * p1


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: int = 12,
    weight: str = "normal",
    anchor: str = "middle",
    colour: str = "#1b1f24",
) -> str:
    return (
        f"<text x='{x:.0f}' y='{y:.0f}' {FONT} font-size='{size}' font-weight='{weight}' "
        f"text-anchor='{anchor}' fill='{colour}'>{escape(text)}</text>"
    )


def _clip(node: Node, toward_x: float, toward_y: float) -> tuple[float, float]:
    """Where the line from the centre of ``node`` toward a point leaves its box."""
    dx, dy = toward_x - node.cx, toward_y - node.cy
    if dx == 0 and dy == 0:
        return node.cx, node.cy
    scale = min(
        (NODE_W / 2) / abs(dx) if dx else math.inf,
        (NODE_H / 2) / abs(dy) if dy else math.inf,
    )
    return node.cx + dx * scale, node.cy + dy * scale


Box = tuple[float, float, float, float]  # x, y, width, height


def _overlap(a: Box, b: Box) -> float:
    """The area two boxes share."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(width, 0) * max(height, 0)


# Where along a flow its label may sit, in order of preference.
_LABEL_SPOTS = (0.5, 0.35, 0.65, 0.25, 0.75, 0.45, 0.55, 0.15, 0.85)


# One colour per source group, so that a label is read with its own arrow where flows cross.
PALETTE = ("#2f6fbf", "#c2571a", "#2e8540", "#8250df", "#b3261e", "#0f766e", "#6b7580")


def _edge(
    source: Node, destination: Node, label: str, bend: float, taken: list[Box], colour: str
) -> tuple[str, list[str]]:
    """The path of one flow, and its label placed where it covers the fewest boxes already
    drawn (nodes and earlier labels); the label box joins ``taken``."""
    sx, sy = _clip(source, destination.cx, destination.cy)
    dx, dy = _clip(destination, source.cx, source.cy)
    mx, my = (sx + dx) / 2, (sy + dy) / 2
    length = math.hypot(dx - sx, dy - sy) or 1.0
    # Control point pushed sideways, so that opposite flows do not overlap.
    cx, cy = mx - (dy - sy) / length * bend, my + (dx - sx) / length * bend
    width, height = 6.5 * len(label) + 12, 16

    def box(t: float) -> Box:
        lx, ly = _bezier(sx, cx, dx, t), _bezier(sy, cy, dy, t)
        return lx - width / 2, ly - height / 2, width, height

    padded = [(x - 3, y - 3, w + 6, h + 6) for x, y, w, h in taken]
    spot = min(_LABEL_SPOTS, key=lambda t: sum(_overlap(box(t), other) for other in padded))
    bx, by, _, _ = chosen = box(spot)
    taken.append(chosen)
    path = (
        f"<path d='M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {dx:.1f},{dy:.1f}' fill='none' "
        f"stroke='{colour}' stroke-width='1.6' marker-end='url(#arrow-{colour[1:]})'/>"
    )
    return path, [
        f"<rect x='{bx:.1f}' y='{by:.1f}' width='{width:.0f}' height='{height}' rx='3' "
        f"fill='#ffffff' stroke='{colour}' stroke-width='1'/>",
        _text(bx + width / 2, by + 12, label, size=11, colour=colour),
    ]


# Data stores: the stack boxes name each one, so that a reviewer finds it in the report's tables.
DATA_STORES = frozenset(
    {
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
        "AWS::EFS::FileSystem",
        "AWS::ECR::Repository",
        "AWS::SecretsManager::Secret",
        "AWS::SQS::Queue",
        "AWS::Events::EventBus",
    }
)
_DEFAULT_IDS = frozenset(
    {"Resource", "Default", "Bucket", "Table", "FileSystem", "Repository", "Secret", "Queue", "Bus"}
)


def _store_name(path: str) -> str:
    """``Tables/Dispatches`` -> ``Dispatches``, ``Artifacts/Bucket`` -> ``Artifacts``."""
    segments = path.split("/")
    while len(segments) > 1 and segments[-1] in _DEFAULT_IDS:
        segments.pop()
    return segments[-1]


def _stack_lines(stack: StackTemplate) -> list[str]:
    """One item per resource type shown: count, and the names of data stores."""
    names: dict[str, list[str]] = defaultdict(list)
    for logical_id, resource in sorted(stack.resources.items()):
        names[resource.get("Type", "")].append(_store_name(stack.name(logical_id)))
    lines = []
    for kind, one, many in SHOWN_TYPES:
        count = len(names[kind])
        if count:
            item = f"{one}" if count == 1 else f"{count} {many}"
            if kind in DATA_STORES:
                item += ": " + ", ".join(sorted(names[kind]))
            lines.append(item)
    return lines or ["(no resources shown)"]


def _wrapped(item: str) -> list[str]:
    """One stack-box item as text lines: a bullet, then indented continuation lines."""
    lines = textwrap.wrap(item, BOX_CHARS) or [""]
    return ["• " + lines[0]] + ["  " + line for line in lines[1:]]


def architecture_svg(stacks: Sequence[StackTemplate], *, title: str) -> str:
    """The whole diagram as an SVG document (UTF-8 text)."""
    bodies: list[Mapping[str, Any]] = [s.body for s in stacks]
    all_flows = flows.flows(flows.rules(bodies))
    groups = set(flows.security_groups(bodies).values())
    labels: dict[tuple[str, str], list[str]] = defaultdict(list)
    # Outside the VPC: the internet, or an address range (a CIDR peer) in its place.
    ranges = sorted({f.source for f in all_flows if f.source not in groups and f.source != flows.INTERNET})
    for flow in all_flows:
        ports = str(flow.from_port) if flow.from_port == flow.to_port else f"{flow.from_port}-{flow.to_port}"
        source = flow.source if flow.source in groups else INBOUND
        destination = flow.destination if flow.destination in groups else OUTBOUND
        if source == INBOUND and ranges:
            labels[(source, destination)].append(f"{flow.protocol}/{ports} from {flow.source}")
        else:
            labels[(source, destination)].append(f"{flow.protocol}/{ports}")
    names = sorted(groups)
    names += [end for end in (INBOUND, OUTBOUND) if any(end in pair for pair in labels)]
    layer = _layers(names, labels)
    used = _attachments(stacks)
    clients = "clients of the public API" + (f" ({', '.join(ranges)} only)" if ranges else "")
    details = {INBOUND: clients, OUTBOUND: "model providers, git, AWS APIs"}

    columns: dict[int, list[str]] = defaultdict(list)
    for name in names:
        columns[layer[name]].append(name)
    top = MARGIN + 64
    nodes: dict[str, Node] = {}
    row_of: dict[str, float] = {}
    for column, members in sorted(columns.items()):
        # Order a column by the mean row of what flows into it (fewer crossings); the
        # outbound internet goes last.
        def rank(name: str) -> tuple[bool, float, str]:
            rows = [row_of[p] for (p, d) in labels if d == name and p in row_of]
            return (name == OUTBOUND, sum(rows) / len(rows) if rows else math.inf, name)

        for row, name in enumerate(sorted(members, key=rank)):
            row_of[name] = row
            what, homes = used.get(name, ([], []))
            detail = details.get(name) or "; ".join(what) or "nothing in this environment uses it"
            home = ", ".join(homes) + " stack" if homes else ""
            label = "internet" if name in details else name
            nodes[name] = Node(
                label, detail, home, MARGIN + column * (NODE_W + COL_GAP), top + row * (NODE_H + ROW_GAP)
            )
    # A stage without security groups (the Delivery stage: IAM only) draws its stacks alone.
    flows_bottom = max((n.y + NODE_H for n in nodes.values()), default=top - 40)

    per_row = 3
    stack_top = flows_bottom + 80
    stack_boxes = []
    items = {stack.stack: [_wrapped(item) for item in _stack_lines(stack)] for stack in stacks}
    height_of = {name: sum(len(lines) for lines in wrapped) for name, wrapped in items.items()}
    row_heights: dict[int, int] = defaultdict(int)
    for index, stack in enumerate(stacks):
        row_heights[index // per_row] = max(row_heights[index // per_row], height_of[stack.stack])
    y: float = stack_top
    row_y: dict[int, float] = {}
    for row in sorted(row_heights):
        row_y[row] = y
        y += 40 + row_heights[row] * LINE_H + 20
    for index, stack in enumerate(stacks):
        x = MARGIN + (index % per_row) * (BOX_W + 20)
        by = row_y[index // per_row]
        height = 40 + row_heights[index // per_row] * LINE_H
        stack_boxes.append(
            f"<rect x='{x}' y='{by:.0f}' width='{BOX_W}' height='{height}' rx='8' "
            "fill='#f4f6f8' stroke='#8a96a3'/>"
        )
        stack_boxes.append(_text(x + BOX_W / 2, by + 22, f"{stack.short} stack", size=14, weight="bold"))
        lines = [line for wrapped in items[stack.stack] for line in wrapped]
        for i, line in enumerate(lines):
            indent = 24 if line.startswith("  ") else 14  # SVG collapses the spaces: indent by position
            stack_boxes.append(_text(x + indent, by + 44 + i * LINE_H, line.strip(), size=12, anchor="start"))

    width = max(
        MARGIN * 2 + (max(columns, default=0) + 1) * (NODE_W + COL_GAP) - COL_GAP,
        MARGIN * 2 + min(len(stacks), per_row) * (BOX_W + 20) - 20,
        640,
    )
    total_height = y + MARGIN

    parts = [
        "<svg xmlns='http://www.w3.org/2000/svg' "
        f"width='{width:.0f}' height='{total_height:.0f}' "
        f"viewBox='0 0 {width:.0f} {total_height:.0f}' role='img' "
        f"aria-label='{escape(title)}'>",
        "<defs>"
        + "".join(
            f"<marker id='arrow-{c[1:]}' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='8' "
            f"markerHeight='8' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='{c}'/></marker>"
            for c in PALETTE
        )
        + "</defs>",
        f"<rect width='{width:.0f}' height='{total_height:.0f}' fill='#ffffff'/>",
        _text(MARGIN, MARGIN + 8, title, size=18, weight="bold", anchor="start"),
        _text(
            MARGIN,
            MARGIN + 30,
            "Boxes: security groups, what uses each and the stack it is in. Arrows: the only allowed "
            "flows (protocol/port), derived from the templates.",
            size=12,
            anchor="start",
        ),
    ]
    taken: list[Box] = []
    for node in nodes.values():
        taken.append((node.x, node.y, NODE_W, NODE_H))
        internet = node.name == "internet"
        fill, stroke = ("#eef0f2", "#6b7580") if internet else ("#e6effa", "#2f6fbf")
        parts.append(
            f"<rect x='{node.x:.0f}' y='{node.y:.0f}' width='{NODE_W}' height='{NODE_H}' rx='8' "
            f"fill='{fill}' stroke='{stroke}' stroke-width='1.4'/>"
        )
        parts.append(_text(node.cx, node.y + 20, node.name, size=13, weight="bold"))
        lines = textwrap.wrap(node.detail, NODE_CHARS) or [""]
        if len(lines) > 2:
            lines = [lines[0], lines[1][: NODE_CHARS - 3] + "…"]
        for i, line in enumerate(lines):
            parts.append(_text(node.cx, node.y + 38 + i * 14, line, size=11))
        if node.home:
            parts.append(
                f"<text x='{node.cx:.0f}' y='{node.y + NODE_H - 8:.0f}' {FONT} font-size='10' "
                f"font-style='italic' text-anchor='middle' fill='#57606a'>{escape(node.home)}</text>"
            )
    paths: list[str] = []
    flow_labels: list[str] = []
    sources = sorted({source for source, _ in labels}, key=lambda n: (layer[n], row_of.get(n, 0), n))
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sources)}
    for (source, destination), port_labels in sorted(labels.items()):
        if source not in nodes or destination not in nodes:
            continue
        backward = layer[destination] <= layer[source]
        bend = 36.0 if backward else (12.0 if (destination, source) in labels else 0.0)
        label = ", ".join(sorted(set(port_labels)))
        path, drawn = _edge(nodes[source], nodes[destination], label, bend, taken, colour[source])
        paths.append(path)
        flow_labels += drawn
    # Lines first, labels on top: no line runs through a label.
    parts += paths + flow_labels
    parts.append(
        _text(MARGIN, stack_top - 16, "Stacks and what they hold", size=14, weight="bold", anchor="start")
    )
    parts += stack_boxes
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
