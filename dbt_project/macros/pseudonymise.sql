{#
    pseudonymise(value): the keyed hash through which the marts show identifiers of people:
    lower-case hex HMAC-SHA256 (RFC 2104) of the value's text under var pseudonymisation_key
    (env BCF_PSEUDONYMISATION_KEY). The same as Python's
        hmac.new(key.encode(), str(value).encode(), hashlib.sha256).hexdigest()
    so other parts of the pipeline can compute the pseudonym of a known id.

    Built on sha256() (core PostgreSQL 11+), not pgcrypto's hmac(), which may be absent. The
    key's inner and outer pads are computed once per query (uncorrelated scalar subqueries).
    null stays null.

    The key is a literal in the compiled SQL: keep target/ and dbt logs as private as the
    environment that holds the key, and use this macro in tables only (a view would store the
    key in the database catalog).
#}
{% macro pseudonymise(value) -%}
    {%- set key = var("pseudonymisation_key", "") -%}
    {%- if execute and not key -%}
        {{ exceptions.raise_compiler_error(
            "BCF_PSEUDONYMISATION_KEY is not set: the marts show people only as a keyed "
            ~ "hash and need its key (var pseudonymisation_key). Set it in the environment "
            ~ "of dbt (any long random string, kept out of git)."
        ) }}
    {%- endif -%}
    case when ({{ value }}) is not null then encode(sha256(
        {{ _hmac_key_pad(key, "5c") }}
        || sha256({{ _hmac_key_pad(key, "36") }} || convert_to(({{ value }})::text, 'UTF8'))
    ), 'hex') end
{%- endmacro %}

{# The HMAC key (hashed when longer than SHA-256's 64-byte block, zero-padded to 64 bytes)
   XOR the pad byte repeated: eight 64-bit words XORed as bigints, back to bytea. #}
{% macro _hmac_key_pad(key, pad_byte) -%}
    {%- set key_literal = "'" ~ (key | replace("'", "''")) ~ "'" -%}
    (select decode(string_agg(
        lpad(to_hex(
            ('x' || substr(k.key_hex, 16 * w + 1, 16))::bit(64)::bigint
            # ('x' || repeat('{{ pad_byte }}', 8))::bit(64)::bigint
        ), 16, '0'),
        '' order by w
    ), 'hex')
    from (
        select rpad(encode(case
            when octet_length(convert_to({{ key_literal }}, 'UTF8')) > 64
                then sha256(convert_to({{ key_literal }}, 'UTF8'))
            else convert_to({{ key_literal }}, 'UTF8')
        end, 'hex'), 128, '0') as key_hex
    ) as k
    cross join generate_series(0, 7) as w)
{%- endmacro %}
