// Tables of many key and leaf types, filled with fixed, distinctive values
// when the test process (TEST_PID, set by ctype_parity.py) calls getpid().
// internal/ctype's parity test compares its decoding of the raw bytes with
// BCC Python's; the values are repeated in internal/ctype/parity_test.go.

struct pad { char c; u64 x; u16 s; };
struct ints { u8 a; u16 b; s16 c; s32 d; s64 e; u64 f; };
union un { u32 i; float f; char b[4]; };
struct bits { u32 a:3; u32 b:5; u64 c:40; int e:6; u8 d; };
enum color { RED, GREEN = 5, BLUE = -3 };
struct anon { int k; union { u32 x; u16 y; }; struct { char p; char q; }; };
struct arr2 { int m[2][3]; char after; };
struct ptrs { void *p; char *s; };
struct packedt { char a; u32 b; u16 c; } __attribute__((packed));
struct i128 { char c; __int128 v; unsigned __int128 u; };
struct sc { signed char a; signed char arr[3]; unsigned char ub[3]; _Bool ok; };
struct names { char comm[16]; char tags[2][8]; };
struct nested { struct pad p; struct { int z; } named; u8 flags[4]; };
struct bf_nested { u32 a:4; struct pad p; u8 z:2; };
struct fl { float f; double d; };
typedef char comm_t[16];
typedef int mat_t[2][3];

BPF_HASH(t_u8, u8, u16);
BPF_HASH(t_s16, s16, s32);
BPF_HASH(t_s64, s64, u64);
BPF_HASH(t_pad, struct pad, struct ints);
BPF_HASH(t_union, u32, union un);
BPF_HASH(t_bits, u32, struct bits);
BPF_HASH(t_enum, enum color, enum color);
BPF_HASH(t_anon, u32, struct anon);
BPF_HASH(t_arr2, u32, struct arr2);
BPF_HASH(t_ptr, void *, struct ptrs);
BPF_HASH(t_packed, struct packedt, u64);
BPF_HASH(t_i128, __int128, struct i128);
BPF_HASH(t_sc, signed char, struct sc);
BPF_HASH(t_bool, _Bool, char);
BPF_HASH(t_names, u32, struct names);
BPF_HASH(t_nested, u32, struct nested);
BPF_HASH(t_bfn, u32, struct bf_nested);
BPF_HASH(t_comm, u32, comm_t);
BPF_ARRAY(t_fl, struct fl, 2);
BPF_HASH(t_mat, u32, mat_t);
BPF_HASH(t_u128, u32, unsigned __int128);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid)
{
    if (bpf_get_current_pid_tgid() >> 32 != TEST_PID)
        return 0;
    u32 one = 1;
    {
        u8 k = 200; u16 v = 65000;
        t_u8.update(&k, &v);
        s16 k2 = -1234; s32 v2 = -2000000000;
        t_s16.update(&k2, &v2);
        s64 k3 = -5000000000LL; u64 v3 = 0xfedcba9876543210ULL;
        t_s64.update(&k3, &v3);
    }
    {
        struct pad k = {}; k.c = 'P'; k.x = 0x1122334455667788ULL; k.s = 0xbeef;
        struct ints v = {}; v.a = 255; v.b = 65535; v.c = -32768; v.d = -123456; v.e = -9000000000000000000LL; v.f = 18000000000000000000ULL;
        t_pad.update(&k, &v);
    }
    {
        union un v = {}; v.i = 0x00636261; /* "abc" */
        t_union.update(&one, &v);
        struct bits b = {}; b.a = 5; b.b = 17; b.c = 0xabcdef0123ULL; b.e = -5; b.d = 0x7e;
        t_bits.update(&one, &b);
    }
    {
        enum color k = BLUE, v = GREEN;
        t_enum.update(&k, &v);
        struct anon a = {}; a.k = -7; a.x = 0x12345678; a.p = 'p'; a.q = 'q';
        t_anon.update(&one, &a);
    }
    {
        struct arr2 a = {}; a.m[0][0] = 1; a.m[0][1] = 2; a.m[0][2] = 3; a.m[1][0] = 4; a.m[1][1] = 5; a.m[1][2] = 6; a.after = 'Z';
        t_arr2.update(&one, &a);
    }
    {
        void *k = (void *)0xffff888812345678ULL;
        struct ptrs p = {}; p.p = (void *)0xffffffff81000000ULL; p.s = (char *)0x7fff0000abcdULL;
        t_ptr.update(&k, &p);
        struct packedt pk = {}; pk.a = 'k'; pk.b = 0xdeadbeef; pk.c = 0x1234;
        u64 pv = 42;
        t_packed.update(&pk, &pv);
    }
    {
        __int128 k = -((__int128)1 << 100) - 7;
        struct i128 v = {}; v.c = 'i'; v.v = -((__int128)3 << 70); v.u = ((unsigned __int128)1 << 127) + 9;
        t_i128.update(&k, &v);
    }
    {
        signed char k = -100;
        struct sc v = {}; v.a = -1; v.arr[0] = -128; v.arr[1] = 0; v.arr[2] = 127; v.ub[0] = 1; v.ub[1] = 200; v.ub[2] = 255; v.ok = 1;
        t_sc.update(&k, &v);
        _Bool bk = 1; char bv = 'Q';
        t_bool.update(&bk, &bv);
    }
    {
        struct names n = {};
        __builtin_memcpy(n.comm, "bash", 5);
        __builtin_memcpy(n.tags[0], "red", 4);
        __builtin_memcpy(n.tags[1], "green", 6);
        t_names.update(&one, &n);
    }
    {
        struct nested n = {}; n.p.c = 'n'; n.p.x = 77; n.p.s = 88; n.named.z = -99;
        n.flags[0] = 1; n.flags[1] = 2; n.flags[2] = 4; n.flags[3] = 8;
        t_nested.update(&one, &n);
    }
    {
        struct bf_nested b = {}; b.a = 9; b.p.c = 'b'; b.p.x = 0x0102030405060708ULL; b.p.s = 513; b.z = 3;
        t_bfn.update(&one, &b);
    }
    {
        comm_t c = {};
        __builtin_memcpy(c, "gobcc-test", 11);
        t_comm.update(&one, &c);
    }
    {
        struct fl f = {};
        u32 fbits = 0x40490fdb; /* 3.1415927f */
        u64 dbits = 0xc00921fb54442d18ULL; /* -3.141592653589793 */
        __builtin_memcpy(&f.f, &fbits, 4);
        __builtin_memcpy(&f.d, &dbits, 8);
        t_fl.update(&one, &f);
    }
    {
        mat_t m = {10, 20, 30, 40, 50, 60};
        t_mat.update(&one, &m);
        unsigned __int128 u = ((unsigned __int128)1 << 100) + 5;
        t_u128.update(&one, &u);
    }
    return 0;
}
