-- daqmux.lua - Wireshark dissector for the daqmux wire protocol v1
-- (docs/protocol.md): a 32-byte big-endian header, then `length` payload
-- bytes, over TCP.
--
-- Use:
--   wireshark -X lua_script:tools/wireshark/daqmux.lua capture.pcap
--   tshark -r capture.pcap -X lua_script:tools/wireshark/daqmux.lua -Y daqmux
-- or copy it into ~/.local/lib/wireshark/plugins/ to have it always.
--
-- Recognised on TCP port 5555 and, on any other port, by its first bytes
-- (magic 0xDA7A, version 1, a known type). Several frames in one segment
-- and frames spread over many segments are both handled (TCP reassembly
-- must be on, which is Wireshark's default). The payload's CRC-32C is
-- recomputed: `daqmux.crc_ok` is false and an expert error is raised when
-- it does not match the header. Written for Lua 5.2 (bit32), which is what
-- Debian 12's Wireshark 4.0 embeds.

local HEADER_LEN = 32
local MAGIC = 0xDA7A
local VERSION = 1
local PORT = 5555

local types = { [1] = "HELLO", [2] = "DATA", [3] = "REQUEST", [4] = "BYE" }

local daqmux = Proto("daqmux", "daqmux DAQ protocol v1")

local f = {
	magic   = ProtoField.uint16("daqmux.magic", "Magic", base.HEX),
	version = ProtoField.uint8("daqmux.version", "Version", base.DEC),
	type    = ProtoField.uint8("daqmux.type", "Type", base.DEC, types),
	source  = ProtoField.uint32("daqmux.source", "Source id", base.DEC),
	seq     = ProtoField.uint64("daqmux.seq", "Sequence", base.DEC),
	send_ns = ProtoField.uint64("daqmux.send_ns", "Send time (ns, sender's CLOCK_MONOTONIC)", base.DEC),
	length  = ProtoField.uint32("daqmux.length", "Payload length", base.DEC),
	crc     = ProtoField.uint32("daqmux.crc", "CRC-32C", base.HEX),
	crc_calc = ProtoField.uint32("daqmux.crc_calc", "CRC-32C computed", base.HEX),
	crc_ok  = ProtoField.bool("daqmux.crc_ok", "CRC-32C correct"),
	name    = ProtoField.string("daqmux.name", "Source name"),
	payload = ProtoField.bytes("daqmux.payload", "Payload"),
}
daqmux.fields = { f.magic, f.version, f.type, f.source, f.seq, f.send_ns,
	f.length, f.crc, f.crc_calc, f.crc_ok, f.name, f.payload }

local e = {
	crc_bad = ProtoExpert.new("daqmux.crc_bad", "CRC-32C of the payload does not match the header",
		expert.group.CHECKSUM, expert.severity.ERROR),
	bad_magic = ProtoExpert.new("daqmux.bad_magic", "Not a daqmux v1 header (magic is not 0xDA7A)",
		expert.group.MALFORMED, expert.severity.ERROR),
	bad_version = ProtoExpert.new("daqmux.bad_version", "Unknown protocol version",
		expert.group.MALFORMED, expert.severity.ERROR),
	bad_type = ProtoExpert.new("daqmux.bad_type", "Unknown message type",
		expert.group.MALFORMED, expert.severity.ERROR),
	bad_payload = ProtoExpert.new("daqmux.bad_payload", "REQUEST and BYE carry no payload; HELLO at most 255 bytes",
		expert.group.PROTOCOL, expert.severity.WARN),
}
daqmux.experts = { e.crc_bad, e.bad_magic, e.bad_version, e.bad_type, e.bad_payload }

-- CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and
-- final XOR 0xFFFFFFFF; crc32c("123456789") == 0xE3069283.
local band, bxor, rshift = bit32.band, bit32.bxor, bit32.rshift
local crc_table = {}
for i = 0, 255 do
	local c = i
	for _ = 1, 8 do
		if band(c, 1) ~= 0 then c = bxor(rshift(c, 1), 0x82F63B78) else c = rshift(c, 1) end
	end
	crc_table[i] = c
end

local byte = string.byte
local function crc32c(s)
	local crc = 0xFFFFFFFF
	for i = 1, #s do
		crc = bxor(crc_table[band(bxor(crc, byte(s, i)), 0xFF)], rshift(crc, 8))
	end
	return bxor(crc, 0xFFFFFFFF)
end
assert(crc32c("123456789") == 0xE3069283, "daqmux.lua: CRC-32C self-test failed")

-- One complete message: tvb holds exactly header + payload.
local function dissect_message(tvb, pinfo, root)
	local len = tvb(24, 4):uint()
	local tree = root:add(daqmux, tvb(), "daqmux")
	local magic, version, mtype = tvb(0, 2):uint(), tvb(2, 1):uint(), tvb(3, 1):uint()
	local it = tree:add(f.magic, tvb(0, 2))
	if magic ~= MAGIC then it:add_proto_expert_info(e.bad_magic) end
	it = tree:add(f.version, tvb(2, 1))
	if version ~= VERSION then it:add_proto_expert_info(e.bad_version) end
	it = tree:add(f.type, tvb(3, 1))
	if not types[mtype] then it:add_proto_expert_info(e.bad_type) end
	tree:add(f.source, tvb(4, 4))
	tree:add(f.seq, tvb(8, 8))
	tree:add(f.send_ns, tvb(16, 8))
	it = tree:add(f.length, tvb(24, 4))
	if ((mtype == 3 or mtype == 4) and len > 0) or (mtype == 1 and len > 255) then
		it:add_proto_expert_info(e.bad_payload)
	end
	local crc_item = tree:add(f.crc, tvb(28, 4))

	local want = tvb(28, 4):uint()
	local got = 0
	if len > 0 then
		local p = tvb(HEADER_LEN, len)
		got = crc32c(p:raw())
		if mtype == 1 then tree:add(f.name, p) end
		tree:add(f.payload, p)
	end
	tree:add(f.crc_calc, tvb(28, 4), got):set_generated()
	local ok = got == want
	tree:add(f.crc_ok, tvb(28, 4), ok):set_generated()
	if not ok then
		crc_item:add_proto_expert_info(e.crc_bad,
			string.format("CRC-32C mismatch: header 0x%08x, payload 0x%08x", want, got))
	end

	local tname = types[mtype] or ("type " .. mtype)
	local src = tvb(4, 4):uint()
	local what
	if mtype == 2 then
		what = string.format("DATA src %u seq %s len %u", src, tostring(tvb(8, 8):uint64()), len)
	elseif mtype == 4 then
		what = string.format("BYE src %u sent %s", src, tostring(tvb(8, 8):uint64()))
	elseif mtype == 1 then
		what = string.format("HELLO src %u \"%s\"", src, len > 0 and tvb(HEADER_LEN, len):string() or "")
	else
		what = string.format("%s src %u", tname, src)
	end
	if not ok then what = what .. " [CRC ERROR]" end
	tree:append_text(": " .. what)
	return what
end

-- A TCP segment (or TCP's reassembled bytes) may hold several messages and
-- end inside one; desegment_offset/desegment_len ask TCP for the rest.
local function dissect_stream(tvb, pinfo, tree, can_desegment)
	local total = tvb:len()
	local off = 0
	local infos = {}
	while off < total do
		local rest = total - off
		local need
		if rest < HEADER_LEN then
			need = DESEGMENT_ONE_MORE_SEGMENT
		else
			local msg = HEADER_LEN + tvb(off + 24, 4):uint()
			if rest < msg then need = msg - rest end
			if not need then
				infos[#infos + 1] = dissect_message(tvb(off, msg):tvb(), pinfo, tree)
				off = off + msg
			end
		end
		if need then
			if can_desegment then
				pinfo.desegment_offset = off
				pinfo.desegment_len = need
				-- Not 0: that would mean "not mine", and TCP would drop
				-- the request for more bytes.
				off = total
			else
				-- Reassembly is off: show the fragment for what it is.
				tree:add(daqmux, tvb(off), "daqmux: part of a message (TCP reassembly is off)")
				infos[#infos + 1] = "[fragment]"
				off = total
			end
			break
		end
	end
	if #infos > 0 then
		pinfo.cols.protocol = "daqmux"
		pinfo.cols.info = table.concat(infos, ", ")
	end
	return off
end

function daqmux.dissector(tvb, pinfo, tree)
	return dissect_stream(tvb, pinfo, tree, pinfo.can_desegment > 0)
end

-- A daqmux stream on any port: its first message starts with DA 7A 01 and
-- a known type. Claiming the conversation lets later segments, which may
-- begin in the middle of a payload, reach this dissector too.
local function heuristic(tvb, pinfo, tree)
	if tvb:len() < 4 then return false end
	if tvb(0, 2):uint() ~= MAGIC or tvb(2, 1):uint() ~= VERSION then return false end
	if not types[tvb(3, 1):uint()] then return false end
	pinfo.conversation = daqmux
	-- Not daqmux.dissector(): in Wireshark 4.0 that goes through a
	-- dissector handle, which lowers can_desegment to 0, and a first
	-- message longer than the first segment would be lost.
	dissect_stream(tvb, pinfo, tree, pinfo.can_desegment > 0)
	return true
end

DissectorTable.get("tcp.port"):add(PORT, daqmux)
daqmux:register_heuristic("tcp", heuristic)
