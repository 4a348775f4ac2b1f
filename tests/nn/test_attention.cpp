// scaled_dot_product_attention and MultiheadAttention against PyTorch 1.13: outputs, attention
// weights and gradients for the same weights and inputs (bool, float and causal masks, key
// padding, batch_first, kdim/vdim, add_bias_kv/add_zero_attn, encoder-decoder and unbatched
// attention, weights averaged or per head), float64 gradchecks, parameter names, shapes and
// initialization, a safetensors file PyTorch wrote, dropout, AnyModule and Sequential, errors.
//
// PyTorch 1.13 has no public scaled_dot_product_attention: its numbers are PyTorch 2's documented
// formula, softmax(Q K^T / sqrt(E) + bias) V, computed with torch 1.13. The reference values were
// printed by this Python (fill, ramp and weights are in pytorch_reference.h), eval mode throughout:
//
//   import torch.nn as nn
//   def c(xs): return "{" + ", ".join("%.12g" % x for x in xs) + "}"
//   def report(name, m, outs, ins):  # prints `const Expected kName{...};`
//       loss = sum((o * weights(o, 0.11 + 0.02 * k)).sum() for k, o in enumerate(outs))
//       loss.backward()
//       params = [] if m is None else [p for _, p in m.named_parameters()]
//       grads = [v for p in params for v in (p.grad.sum().item(),
//                                            (p.grad * weights(p.grad, 0.19)).sum().item())]
//       print("// " + name)
//       print("const Expected k%s{{%s}, %s, {%s}};" % (name.title().replace(" ", ""),
//             ", ".join(c(o.flatten().tolist()) for o in outs), c(grads),
//             ", ".join(c(t.grad.flatten().tolist()) for t in ins)))
//   T, F = True, False
//   def sdpa(q, k, v, bias):
//       return torch.softmax(q @ k.transpose(-2, -1) / q.size(-1) ** 0.5 + bias, dim=-1) @ v
//   q, k, v = (ramp([2, 2, 3, 4], 0.3, 0.1), ramp([2, 2, 5, 4], 0.4, 0.7, torch.sin),
//              ramp([2, 2, 5, 3], 0.5, 0.2))
//   keep = torch.tensor([[T, T, F, T, F], [T, F, T, T, T], [F, T, T, F, T]])  # true: takes part
//   report("sdpa bool", None, [sdpa(q, k, v, torch.zeros(3, 5).masked_fill(~keep, float("-inf")))],
//          [q, k, v])
//   q, k, v = [ramp(t.shape, 0.3 + 0.1 * i, 0.1) for i, t in enumerate((q, k, v))]
//   report("sdpa float", None, [sdpa(q, k, v, ramp([2, 1, 3, 5], 0.9, 0.3, torch.sin, False))],
//          [q, k, v])
//   q, k, v = [ramp(t.shape, 0.3 + 0.1 * i, 0.1) for i, t in enumerate((q, k, v))]
//   report("sdpa causal", None, [sdpa(q, k, v, torch.zeros(3, 5).masked_fill(
//       ~torch.ones(3, 5, dtype=torch.bool).tril(), float("-inf")))], [q, k, v])
//   m = nn.MultiheadAttention(4, 2); fill(m); m.eval()
//   x = ramp([3, 2, 4], 0.3, 0.1)
//   out, w = m(x, x, x, key_padding_mask=torch.tensor([[F, F, T], [F, F, F]]),
//              attn_mask=ramp([3, 3], 0.9, 0.3, torch.sin, False))
//   report("mha self", m, [out, w], [x])
//   m = nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, kdim=3, vdim=5,
//                             batch_first=True); fill(m); m.eval()
//   q, k, v = (ramp([2, 3, 4], 0.3, 0.1), ramp([2, 4, 3], 0.4, 0.7, torch.sin),
//              ramp([2, 4, 5], 0.5, 0.2))
//   mask = torch.arange(4 * 3 * 4).reshape(4, 3, 4) % 3 == 1  # true: blocked
//   out, w = m(q, k, v, key_padding_mask=torch.tensor([[F, F, F, T], [F, T, F, F]]),
//              attn_mask=mask, average_attn_weights=False)
//   report("mha kdim vdim", m, [out, w], [q, k, v])
//   m = nn.MultiheadAttention(4, 2, bias=False); fill(m); m.eval()
//   q, kv = ramp([3, 4], 0.3, 0.1), ramp([2, 4], 0.4, 0.7, torch.sin)
//   out, w = m(q, kv, kv, key_padding_mask=torch.tensor([0.0, -1.5]))
//   report("mha cross unbatched", m, [out, w], [q, kv])

#include <bg/nn.h>

#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "pytorch_reference.h"
#include "test_util.h"

using namespace bg;
using test::check_against;
using test::check_error;
using test::Expected;
using test::fill;
using test::ramp;
namespace F = bg::nn::functional;

namespace {

// sdpa bool
const Expected kSdpaBool{
    {{0.177700989127,   0.121311095885,   0.0352200154971,  0.091178071737,   0.136194358294,
      0.147865515996,   -0.157280754125,  -0.197453769127,  -0.189283215006,  -0.0558808062306,
      -0.121761408351,  -0.15783057113,   0.170955131511,   0.129333967027,   0.0560473367349,
      -0.0933626499315, -0.0964102623756, -0.0758532801646, -0.108889524149,  -0.134611122416,
      -0.127375223188,  -0.111506846694,  -0.207425808961,  -0.252559698966,  -0.152807377225,
      -0.109854845548,  -0.0400060163595, -0.0911895857008, -0.0142554967402, 0.0661688350002,
      -0.184679501475,  -0.155914658617,  -0.088976469615,  0.105695459215,   0.153340191285,
      0.163441896603}},
    {},
    {{-0.0361066699458,  0.0180456251778,   0.0693489128731,  0.10970353207,    0.116980176186,
      0.163314950306,    0.183865884743,    0.175388438822,   0.0810524710287,  0.112538550558,
      0.126257267453,    0.120042737963,    0.0780767803873,  0.0967654467551,  0.10017697676,
      0.0877727648256,   0.00736590620869,  0.00949419277531, 0.0101235550611,  0.00915463059948,
      0.000537938757296, -0.00722224857465, -0.0138422016595, -0.0182767754647, -0.0385210216324,
      -0.0397212839196,  -0.0346504288676,  -0.0241090329913, -0.141237089811,  -0.145458382567,
      -0.126714995055,   -0.0879660960337,  -0.1617400145,    -0.18948376213,   -0.187312190091,
      -0.155568141857,   -0.198522758369,   -0.197440727331,  -0.165187146774,  -0.106854147878,
      -0.0628789468457,  -0.0261408141719,  0.0147243782754,  0.0532649151526,  -0.0892182189839,
      -0.0551580635728,  -0.0123896627395,  0.0323347934165},
     {0.082599571818,    0.0662109835637,    0.0439079653406,   0.0176827793426,
      -0.0826471924449,  -0.07407153685,     -0.0588792914719,  -0.038427534344,
      0.0195133885864,   0.0569258998821,    0.0892533900809,   0.113608140763,
      0.0233807947297,   0.0178051043939,    0.0106389371107,   0.00252242526085,
      -0.0428465626893,  -0.0668704509897,   -0.0849210010603,  -0.0953858110222,
      0.000824601088503, -0.000829172467716, -0.00240887851688, -0.00377340662237,
      0.0535118744303,   0.044000968805,     0.0305595876823,   0.014388409606,
      -0.0142628717474,  -0.0156755935273,   -0.0156880612234,  -0.0142991611333,
      -0.0417349107102,  -0.028825071089,    -0.0133403737156,  0.00333597951072,
      0.00166130693879,  0.00132886827904,   0.000877725773627, 0.000348178638946,
      -0.00682385237756, -0.0275295501787,   -0.0457761152523,  -0.0599336362832,
      0.00797035440116,  0.00985605947731,   0.0108613521142,   0.0108964325145,
      0.117323873678,    0.11763572005,      0.107439517898,    0.0876460635944,
      0.00805967575325,  0.0227826865393,    0.0354705877893,   0.0449900070724,
      -0.126530051455,   -0.122744915888,    -0.107995342549,   -0.0835988668982,
      0.00049747162244,  0.0125520763569,    0.0234854414936,   0.0323209220872,
      -0.0351349694064,  -0.0558117452029,   -0.0715030240218,  -0.0808071506588,
      -0.0709225227419,  -0.0726405522652,   -0.0678698175965,  -0.0570364742552,
      0.0194089684097,   0.0456922443919,    0.0678939682655,   0.0840309261592,
      0.0861510521162,   0.0702079767194,    0.0479934318592,   0.0214917766675},
     {0.632066635486,  0.619863359984,  0.600167297626,   0.562802197348,   0.539429978143,
      0.509537235043,  0.654030409194,  0.607065208339,   0.552761922178,   0.494274275377,
      0.482570871823,  0.465034246111,  0.392861057621,   0.3676890125,     0.338072414631,
      0.22683606493,   0.172641660466,  0.116360397432,   0.211208923933,   0.143761054859,
      0.0745754303181, 0.031951433425,  -0.0337872198697, -0.0991174598699, 0.223076872291,
      0.164728335672,  0.104388595205,  0.0246711288481,  -0.0414929427479, -0.107155455781,
      -0.339253161841, -0.395114837979, -0.446200443364,  -0.413926050324,  -0.460645681028,
      -0.501797116987, -0.301274831008, -0.323542724556,  -0.341899697036,  -0.298319666923,
      -0.351465888082, -0.400363658442, -0.595622689682,  -0.640476764419,  -0.677588881505,
      -0.626936005498, -0.624785466665, -0.615082643515,  -0.689058507676,  -0.672652030188,
      -0.64811466674,  -0.521079654947, -0.497227958387,  -0.46736586768,   -0.45148797251,
      -0.451021857431, -0.445103878501, -0.567312980701,  -0.542844791707,  -0.511814801222}}};
// sdpa float
const Expected kSdpaFloat{
    {{0.0904323176071,  0.0804686959682,  0.0508035311124,    0.0657063271363,   0.0904335788329,
      0.0930195364499,  0.0931548260346,  0.0618482056836,    0.0153989875496,   -0.0624599029682,
      -0.091828334045,  -0.0987139863225, 0.0997095946979,    0.106473234552,    0.0871685132035,
      0.0866506918577,  0.0490293707626,  -0.000596050254266, -0.108969474507,   -0.0860701868283,
      -0.0420979156109, 0.0409672011198,  -0.0137878800599,   -0.0651672073318,  -0.0568651179238,
      -0.148858879583,  -0.204406795885,  -0.0797770087488,   -0.00480455482366, 0.071344221687,
      -0.0959077887788, -0.0599226173855, -0.00926629938191,  -0.181479103467,   -0.143279849861,
      -0.0700006919493}},
    {},
    {{0.169620542703,   0.170380031358,   0.144240259379,   0.0953281219992,  0.162855856552,
      0.156892396209,   0.126159076256,   0.075508012149,   0.136804737978,   0.133954792364,
      0.109956330434,   0.0685981816494,  0.0620231409536,  0.0499628055646,  0.0300144417594,
      0.00532745755809, 0.016726129586,   0.0112847325717,  0.00406172441314, -0.00380254072108,
      -0.0260919365631, -0.0259432036572, -0.0216986093331, -0.0140282817045, -0.0822520895526,
      -0.058044918971,  -0.0246737319759, 0.012592894772,   -0.105575173396,  -0.0638206855672,
      -0.0119903147773, 0.0417330630729,  -0.11259560261,   -0.0597803448725, 0.00247291487007,
      0.0643357557291,  -0.0337245089179, 0.0281272562181,  0.0855383460595,  0.129444811876,
      -0.0353869105983, 0.0246606506553,  0.080814837409,   0.124210138293,   -0.0116075148152,
      0.0312652440253,  0.0692019082947,  0.0962131128562},
     {0.0346127381981,   0.0191031494037,    0.00188713316714,   -0.0154974550549,
      -0.0261529815174,  -0.00854643624325,  0.00982353672711,   0.0273160024186,
      -0.042689045317,   -0.00930854938434,  0.0249034515416,    0.0568909013101,
      0.0134864364852,   0.00697005168299,   -0.000168947077468, -0.00729285429867,
      0.0207428521512,   -0.00821821545914,  -0.0364451743584,   -0.0614165943751,
      0.00590585965217,  0.00578143508123,   0.00514057213305,   0.00404051718614,
      0.0403106842249,   0.0307740791615,    0.0184885172596,    0.00455143117434,
      -0.00988804243251, -0.00996791208476,  -0.00915737783742,  -0.00752884230083,
      -0.0344946642248,  -0.026191653417,    -0.0155490202148,   -0.00351743934564,
      -0.00183383721972, -0.000395948740997, 0.00107730865953,   0.00245433328599,
      -0.0341028060637,  -0.0479112672444,   -0.057439957614,    -0.0618377076406,
      0.000225606780141, -0.000343117724883, -0.000881192545434, -0.00134055306031,
      0.0565607649957,   0.0735970786253,    0.0840591844119,    0.0870125336043,
      0.0638797611876,   0.0653567331815,    0.060995582849,     0.0511858787608,
      -0.0865633268998,  -0.0906994268374,   -0.0867336171014,   -0.0750201516642,
      0.0182895017004,   0.0328998666795,    0.0445713845522,    0.0522614733876,
      -0.0873638842091,  -0.107392237557,    -0.117827562165,    -0.117737701564,
      -0.056281005015,   -0.0612498019977,   -0.0607473365853,   -0.0548184925165,
      0.0568216178245,   0.0641377825652,    0.0657247102078,    0.0614406452322,
      0.0685337696992,   0.0716043903099,    0.06827880399,      0.0588540754611},
     {0.504532286874,  0.484551245418,   0.458713043437,  0.532486240496,  0.508045143438,
      0.477462896219,  0.544441282543,   0.519861863296,  0.488998455693,  0.570903933883,
      0.548783009499,  0.52002850361,    0.58367083123,   0.555377169137,  0.520370216629,
      0.120834140236,  0.0700352565532,  0.0183898004099, 0.186966688147,  0.130425082949,
      0.0723069248993, 0.164830637072,   0.0936765815758, 0.0213901819145, 0.136719606092,
      0.0620442205421, -0.0133811433905, 0.10839335188,   0.0496697467597, -0.00965425652857,
      -0.342838475948, -0.38813898457,   -0.428747745189, -0.276269712139, -0.318209493016,
      -0.356302819883, -0.328002641043,  -0.370549209451, -0.40861665161,  -0.524193381831,
      -0.575924623216, -0.620694200588,  -0.477092188819, -0.51842358581,  -0.553488380063,
      -0.633411477948, -0.624739953652,  -0.608516695191, -0.595139484708, -0.585795271666,
      -0.569370080145, -0.437131850973,  -0.42760953275,  -0.41291835427,  -0.507436915081,
      -0.492334363704, -0.471280570993,  -0.682755392621, -0.658052982607, -0.62539615706}}};
// sdpa causal
const Expected kSdpaCausal{
    {{0.497502082639,  0.412667807455,   0.226798060713,   0.226608340367,  0.0608453054763,
      -0.119814782249, -0.0959513160711, -0.187093904962,  -0.23242938079,  0.125629921291,
      -0.121772076868, -0.33936002366,   -0.190075155848,  -0.316923411912, -0.36617776365,
      -0.184420488524, -0.136625739498,  -0.0553802444543, -0.410406547246, -0.497088812592,
      -0.462066400037, -0.374496626924,  -0.345182080308,  -0.231354921786, -0.159576969537,
      -0.101347669622, -0.0183049255601, -0.410152729184,  -0.222845000222, 0.0190229567849,
      -0.113791483939, 0.0678094223472,  0.232808217106,   0.070163642454,  0.154647685998,
      0.201268582483}},
    {},
    {{0,
      0,
      0,
      0,
      0.115144982932,
      0.141638043389,
      0.145769571133,
      0.126887288778,
      0.117583324653,
      0.106606589373,
      0.0787990176966,
      0.0385508137597,
      0,
      0,
      0,
      0,
      0.00906505708828,
      0.00225177542898,
      -0.0049170120585,
      -0.0113095114572,
      -0.0176826387612,
      -0.0223272927669,
      -0.0234469581773,
      -0.0208648644433,
      0,
      0,
      0,
      0,
      -0.0684465150709,
      -0.0736511754363,
      -0.0672279346427,
      -0.0501908811773,
      -0.199880359584,
      -0.150595992696,
      -0.0775358298663,
      0.00776553564054,
      0,
      0,
      0,
      0,
      -0.0354424956948,
      0.0255823830967,
      0.0825683661029,
      0.126518619615,
      0.00607947856793,
      0.0508800149187,
      0.0876477156638,
      0.110577769304},
     {-0.0237624575256,
      -0.063171713403,
      -0.0969380282634,
      -0.122045157765,
      -0.0189734709741,
      0.0129101300861,
      0.0436405076754,
      0.0704726086864,
      0.0427359284997,
      0.0502615833169,
      0.053297520588,
      0.0515725490785,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0.00594260274517,
      0.00953517341005,
      0.0122759954323,
      0.0139202393437,
      0.00987828276893,
      0.00644526924394,
      0.00243651901301,
      -0.00178987820478,
      -0.0158208855141,
      -0.015980442654,
      -0.0147125144454,
      -0.0121303611389,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      -0.137156735316,
      -0.134280743765,
      -0.119409853294,
      -0.0938724362614,
      0.0339128636921,
      0.0442639579829,
      0.0506610847363,
      0.0525328076717,
      0.103243871624,
      0.0900167857816,
      0.0687487685577,
      0.0413396285897,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0.154010457038,
      0.145821337529,
      0.124606432232,
      0.0922608054522,
      -0.137056668907,
      -0.134141323074,
      -0.119243532357,
      -0.0936940720326,
      -0.0169537881312,
      -0.0116800144554,
      -0.00536289987438,
      0.00143326658039,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0},
     {1.61492050816,
      1.57397875273,
      1.5140110505,
      0.80980279954,
      0.759733503199,
      0.700480697114,
      0.311311267324,
      0.28290617486,
      0.251081367979,
      0,
      0,
      0,
      0,
      0,
      0,
      0.645673009865,
      0.471301478172,
      0.291232946545,
      0.109813075625,
      0.0242644349299,
      -0.0615775095013,
      -0.0377416620628,
      -0.0897150247222,
      -0.140603929739,
      0,
      0,
      0,
      0,
      0,
      0,
      -1.20347220715,
      -1.37088159455,
      -1.52172003381,
      -0.491589485336,
      -0.533310133135,
      -0.568584232528,
      -0.25333470729,
      -0.267054168378,
      -0.277545530998,
      0,
      0,
      0,
      0,
      0,
      0,
      -1.85093164132,
      -1.8303659298,
      -1.78767511351,
      -0.757119098402,
      -0.726295228797,
      -0.686692044756,
      -0.247824381605,
      -0.231870945782,
      -0.213114699393,
      0,
      0,
      0,
      0,
      0,
      0}}};
// mha self
const Expected kMhaSelf{
    {{0.0824959562727,  -0.356318904117, -0.134604277968, -0.689583696232,  0.0115513842618,
      -0.289846287654,  -0.188923674504, -0.653694414798, 0.00734509463508, -0.288033250157,
      -0.188133953747,  -0.656995637376, 0.0363229021617, -0.314030764167,  -0.16812088427,
      -0.6687116457,    0.0943562439151, -0.370503069169, -0.119735291218,  -0.703419314178,
      0.00801990686099, -0.286061819083, -0.192523818774, -0.650694610648},
     {0.389543873918, 0.610456126082, 0, 0.649612192169, 0.350387807831, 0, 0.330548687159,
      0.669451312841, 0, 0.267898871465, 0.345933080557, 0.386168047978, 0.450549093407,
      0.300165817043, 0.24928508955, 0.21210687212, 0.372347191286, 0.415545936594}},
    {-0.0405718094935, 0.0727519426782, -0.321824577008, 0.286139462941, 5.83875293411, 2.00488431,
     5.30511519716, 5.09984458581},
    {{0.011050001476,    -0.0200866919097, -0.0417763002271,   -0.0438178617749,  -0.00240994664403,
      -0.00878334619183, -0.011025800782,  -0.00808264898157,  0.0177382072517,   -0.0144848819691,
      -0.0398955048674,  -0.046542648442,  -0.000327093631627, -0.00711380622713, -0.0105547845977,
      -0.00903168284895, 0.00116823038087, -0.00251650205215,  -0.00501768424862, -0.00515897113948,
      -0.0118180591487,  -0.0160963421407, -0.0128042639117,   -0.00349014029281}}};
// mha kdim vdim
const Expected kMhaKdimVdim{
    {{0.201130527973, 0.452523929193, 0.295606712243, 0.157505959454, 0.203999016312,
      0.446218333402, 0.304620770356, 0.146825061377, 0.180875476673, 0.475017614246,
      0.273473658381, 0.176720790032, 0.189421892565, 0.461873098807, 0.289697354696,
      0.159292647238, 0.229923877263, 0.412983756362, 0.341324631343, 0.110893242794,
      0.228288913129, 0.411015233319, 0.346669168256, 0.102790281678},
     {0.285553696624,
      0,
      0.206953346185,
      0,
      0.258487633613,
      0.249005323577,
      0,
      0.244244069802,
      0.253342850285,
      0,
      0.254944058854,
      0.24746902106,
      0.233406067097,
      0.241002362063,
      0,
      0,
      0.268737067225,
      0.256854503615,
      0.213878867619,
      0,
      0.236029458135,
      0,
      0.286007160859,
      0.264084513386,
      0,
      0.221598013263,
      0.222308596146,
      0,
      0.296865479075,
      0.259227911516,
      0.204741624075,
      0.214277420049,
      0,
      0,
      0.312082802412,
      0.268898153465,
      0.20123076797,
      0,
      0.195071473963,
      0.197060565479,
      0.20982726125,
      0.196809931338,
      0,
      0,
      0.354896924533,
      0,
      0.332583237537,
      0.31251983793,
      0.223509376855,
      0,
      0,
      0.231401112681,
      0.27827795834,
      0.266811552124,
      0.184455189879,
      0,
      0.16080256094,
      0.183813987025,
      0.247556039112,
      0.223372223044,
      0,
      0,
      0.261609780751,
      0,
      0.37952910191,
      0.358861117338,
      0.229950192903,
      0,
      0,
      0.229364330557,
      0.279560066343,
      0.261125410198}},
    {0.229621175992, -0.27173792615, 0.04203751037, -0.0201062352566, 0.268404917167,
     0.0856086866371, 0.610238050811, -0.130484120011, -0.0185486250734, -0.0162835793664,
     0.30571678866, 0.277440121038, -0.297367729593, -0.0417782614829, 5.30511519716,
     5.09984458581},
    {{0.00742186683265,  0.002754165821,   -0.0032088624113,  -0.0076627125117,  -0.000869017272016,
      -0.00439358540811, -0.0058517816751, -0.00455779358368, -0.0184490228263,  -0.00175770752047,
      0.0157602850972,   0.0258659693724,  -0.00170546472176, 0.00577234421596,  0.0105353294736,
      0.0103433846607,   0.0086087209382,  0.0010596632327,   -0.00698777064884, -0.0117487468073,
      -0.0037629104499,  0.00128106206622, 0.00572253107544,  0.00747260430287},
     {-0.00897686210317,
      -0.00368351157419,
      0.00334225200458,
      -0.0135054340027,
      -0.00772879693513,
      0.00168281409682,
      -0.00155069257016,
      0.00561615986326,
      0.0101416445581,
      0,
      0,
      0,
      -0.000107627318513,
      -0.00691201065852,
      -0.0104655673827,
      0,
      0,
      0,
      -0.00803644971985,
      -0.0159836492919,
      -0.0164134888506,
      -0.0016010686527,
      -0.00310795698059,
      -0.00315312457735},
     {0.00439962917692,
      0.00694578447397,
      0.00622522880203,
      0.00257685075262,
      -0.00228346047016,
      0.00298280560461,
      0.00577751376225,
      0.00585496692135,
      0.00317873765097,
      -0.000992501605816,
      0.00854645711174,
      0.00659038696468,
      0.00153475485049,
      -0.00424269645109,
      -0.00802474131776,
      0,
      0,
      0,
      0,
      0,
      -0.00809539598335,
      -0.00101217295334,
      0.00654709083226,
      0.0110271554983,
      0.0103209766295,
      0,
      0,
      0,
      0,
      0,
      -0.00855577789421,
      -0.00143918833714,
      0.00635427398282,
      0.0111592219604,
      0.0107158134823,
      -0.00807192494545,
      -0.00116887606692,
      0.00628391349008,
      0.0107812803438,
      0.0102080425897}}};
// mha cross unbatched
const Expected kMhaCrossUnbatched{
    {{-0.071162251696, 0.0332116159435, 0.00857679867262, -0.049374118585, -0.0724516341189,
      0.0346266950084, 0.00719954287806, -0.048193835293, -0.0722512642514, 0.0346405121095,
      0.00697313544788, -0.0477810001165},
     {0.820559039779, 0.179440960221, 0.820980817084, 0.179019182916, 0.817018540471,
      0.182981459529}},
    {0.564893513886, 1.60439819977, -1.47916191956, -0.88833246144},
    {{-0.00079269571841, -0.000343595172719, 0.000267103551524, 0.000752179301878,
      -0.000475504023536, -0.000154236716333, 0.000239570528576, 0.000520704010503,
      -5.57741898469e-05, 8.29502324099e-05, 0.000182661864231, 0.000196464767134},
     {0.010942683736, -0.0937982537393, -0.154424406843, -0.14242234846, 6.1055094317e-05,
      -0.0218776563714, -0.0335269641978, -0.0294080168888}}};

const unsigned char kMhaFile[] = {
    0x48, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7b, 0x22, 0x71, 0x5f, 0x70, 0x72, 0x6f, 0x6a,
    0x5f, 0x77, 0x65, 0x69, 0x67, 0x68, 0x74, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65,
    0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a,
    0x5b, 0x34, 0x2c, 0x34, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73,
    0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x30, 0x2c, 0x36, 0x34, 0x5d, 0x7d, 0x2c, 0x22, 0x6b, 0x5f,
    0x70, 0x72, 0x6f, 0x6a, 0x5f, 0x77, 0x65, 0x69, 0x67, 0x68, 0x74, 0x22, 0x3a, 0x7b, 0x22, 0x64,
    0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61,
    0x70, 0x65, 0x22, 0x3a, 0x5b, 0x34, 0x2c, 0x33, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f,
    0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x36, 0x34, 0x2c, 0x31, 0x31, 0x32,
    0x5d, 0x7d, 0x2c, 0x22, 0x76, 0x5f, 0x70, 0x72, 0x6f, 0x6a, 0x5f, 0x77, 0x65, 0x69, 0x67, 0x68,
    0x74, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32,
    0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x34, 0x2c, 0x35, 0x5d, 0x2c,
    0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b,
    0x31, 0x31, 0x32, 0x2c, 0x31, 0x39, 0x32, 0x5d, 0x7d, 0x2c, 0x22, 0x69, 0x6e, 0x5f, 0x70, 0x72,
    0x6f, 0x6a, 0x5f, 0x62, 0x69, 0x61, 0x73, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65,
    0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a,
    0x5b, 0x31, 0x32, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65,
    0x74, 0x73, 0x22, 0x3a, 0x5b, 0x31, 0x39, 0x32, 0x2c, 0x32, 0x34, 0x30, 0x5d, 0x7d, 0x2c, 0x22,
    0x62, 0x69, 0x61, 0x73, 0x5f, 0x6b, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22,
    0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b,
    0x31, 0x2c, 0x31, 0x2c, 0x34, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66,
    0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x32, 0x34, 0x30, 0x2c, 0x32, 0x35, 0x36, 0x5d, 0x7d,
    0x2c, 0x22, 0x62, 0x69, 0x61, 0x73, 0x5f, 0x76, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70,
    0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22,
    0x3a, 0x5b, 0x31, 0x2c, 0x31, 0x2c, 0x34, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f,
    0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x32, 0x35, 0x36, 0x2c, 0x32, 0x37, 0x32,
    0x5d, 0x7d, 0x2c, 0x22, 0x6f, 0x75, 0x74, 0x5f, 0x70, 0x72, 0x6f, 0x6a, 0x2e, 0x77, 0x65, 0x69,
    0x67, 0x68, 0x74, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46,
    0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x34, 0x2c, 0x34,
    0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22,
    0x3a, 0x5b, 0x32, 0x37, 0x32, 0x2c, 0x33, 0x33, 0x36, 0x5d, 0x7d, 0x2c, 0x22, 0x6f, 0x75, 0x74,
    0x5f, 0x70, 0x72, 0x6f, 0x6a, 0x2e, 0x62, 0x69, 0x61, 0x73, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74,
    0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70,
    0x65, 0x22, 0x3a, 0x5b, 0x34, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66,
    0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x33, 0x33, 0x36, 0x2c, 0x33, 0x35, 0x32, 0x5d, 0x7d,
    0x2c, 0x22, 0x5f, 0x5f, 0x6d, 0x65, 0x74, 0x61, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x5f, 0x22, 0x3a,
    0x7b, 0x22, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x22, 0x3a, 0x22, 0x70, 0x74, 0x22, 0x7d, 0x7d,
    0x63, 0x0d, 0xa1, 0x3e, 0x5e, 0x19, 0x38, 0x3f, 0x72, 0x81, 0x36, 0xbe, 0x10, 0xe7, 0x25, 0x3f,
    0x63, 0xf0, 0x0e, 0xbe, 0x8b, 0xac, 0xbb, 0x3d, 0x10, 0xbf, 0x48, 0x3f, 0xb6, 0xaa, 0x4d, 0xbf,
    0xf4, 0x91, 0x0b, 0xbf, 0x6d, 0x82, 0x60, 0xbe, 0xd9, 0xd6, 0xac, 0xbe, 0x17, 0x8d, 0x3f, 0x3f,
    0xfb, 0xb3, 0x0f, 0xbf, 0x28, 0x1d, 0xcc, 0xbe, 0xed, 0xe3, 0x1a, 0xbf, 0x4e, 0xa3, 0x4f, 0xbf,
    0x30, 0x5a, 0x0a, 0xbf, 0xb9, 0xbb, 0x4b, 0x3f, 0x32, 0x84, 0xd3, 0x3e, 0x93, 0xbe, 0xe5, 0x3e,
    0x82, 0x6f, 0x47, 0x3d, 0xae, 0x05, 0xf3, 0xbe, 0xd1, 0x64, 0x20, 0x3e, 0x81, 0x4b, 0x5d, 0xbf,
    0x61, 0x41, 0x2b, 0xbf, 0x19, 0x5f, 0xf4, 0xbe, 0xe0, 0x89, 0x15, 0x3f, 0xc6, 0xf6, 0x0a, 0x3f,
    0xc5, 0x66, 0xb9, 0xbe, 0x81, 0x58, 0xf1, 0xbc, 0xd8, 0xae, 0x05, 0x3f, 0xfc, 0xcb, 0x4f, 0x3f,
    0x45, 0xea, 0xa5, 0x3e, 0x77, 0xe6, 0xe1, 0x3d, 0xac, 0x25, 0x0c, 0x3f, 0x89, 0x25, 0xf6, 0xbe,
    0x04, 0xcd, 0x1b, 0x3e, 0x8a, 0x0e, 0x22, 0xbf, 0xfc, 0xde, 0x10, 0xbf, 0xb1, 0xf4, 0xd7, 0xbe,
    0x98, 0x27, 0xbd, 0x3e, 0x25, 0x1f, 0xa8, 0x3e, 0x79, 0xa1, 0xf7, 0xbe, 0xe9, 0x96, 0x7c, 0x3e,
    0xe6, 0x7e, 0xe5, 0x3e, 0x0d, 0x0f, 0xd3, 0xbd, 0xed, 0x62, 0xff, 0x3c, 0x01, 0xba, 0x41, 0x3e,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x7b, 0x00, 0x8e, 0xbf, 0x9f, 0x99, 0x04, 0x3e, 0x48, 0xcd, 0x03, 0xbf, 0xb4, 0x31, 0x80, 0xbe,
    0xdb, 0xf6, 0x0b, 0x3e, 0x9a, 0x08, 0xeb, 0xbe, 0x95, 0x90, 0xa5, 0xbc, 0x0c, 0x84, 0x13, 0x3e,
    0x00, 0x54, 0x75, 0xbb, 0x5e, 0x54, 0x89, 0x3e, 0x16, 0xb3, 0xd2, 0xbe, 0x80, 0x66, 0xbc, 0xbe,
    0xf4, 0x32, 0x45, 0xbe, 0xec, 0x4b, 0x09, 0x3e, 0x40, 0x4f, 0x22, 0xbc, 0xce, 0xfa, 0xca, 0x3e,
    0x70, 0xbf, 0x35, 0xbd, 0x4c, 0x7b, 0x07, 0x3e, 0xac, 0xbb, 0x1a, 0xbe, 0x70, 0x48, 0xc9, 0xbd,
    0xb8, 0x91, 0xf4, 0xbe, 0x52, 0x8b, 0xa9, 0xbe, 0xe8, 0x0e, 0x53, 0xbe, 0x00, 0xbb, 0x97, 0x3c,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

constexpr double kInf = std::numeric_limits<double>::infinity();

// The masks of the Python above.
Tensor bools(const std::vector<int64_t>& values, const Shape& sizes) {
  return tensor(std::vector<double>(values.begin(), values.end()), sizes, kFloat64) != 0.0;
}
Tensor sdpa_keep() { return bools({1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1}, {3, 5}); }

// softmax(q k^T * scale + bias) v, written out.
Tensor explicit_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& bias,
                          double scale) {
  Tensor scores = q.matmul(k.transpose(-2, -1)) * scale;
  if (bias.defined()) scores = scores + bias;
  return scores.softmax(-1).matmul(v);
}

}  // namespace

TEST_CASE("scaled_dot_product_attention matches PyTorch's formula: bool, float and causal masks") {
  Tensor q = ramp({2, 2, 3, 4}, 0.3, 0.1), k = ramp({2, 2, 5, 4}, 0.4, 0.7, true),
         v = ramp({2, 2, 5, 3}, 0.5, 0.2);
  const Tensor out = F::scaled_dot_product_attention(q, k, v, sdpa_keep());
  CHECK(out.sizes() == Shape{2, 2, 3, 3});
  check_against(nullptr, {out}, {q, k, v}, kSdpaBool);

  q = ramp(q.sizes(), 0.3, 0.1), k = ramp(k.sizes(), 0.4, 0.1), v = ramp(v.sizes(), 0.5, 0.1);
  const Tensor bias = ramp({2, 1, 3, 5}, 0.9, 0.3, true, false);
  check_against(nullptr, {F::scaled_dot_product_attention(q, k, v, bias)}, {q, k, v}, kSdpaFloat);

  q = ramp(q.sizes(), 0.3, 0.1), k = ramp(k.sizes(), 0.4, 0.1), v = ramp(v.sizes(), 0.5, 0.1);
  check_against(nullptr, {F::scaled_dot_product_attention(q, k, v, {}, 0.0, true)}, {q, k, v},
                kSdpaCausal);
}

TEST_CASE("scaled_dot_product_attention: gradients, masks, scale, dropout and empty rows") {
  // float64 gradchecks, first and second order, with a broadcast float mask and with
  // non-contiguous operands.
  const Tensor mask = test::leaf({3, 1, 4}, 9).detach();
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        return F::scaled_dot_product_attention(in[0], in[1], in[2], mask);
      },
      {test::leaf({2, 3, 3, 2}, 1), test::leaf({3, 4, 2}, 2), test::leaf({2, 3, 4, 3}, 3)});
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        return F::scaled_dot_product_attention(in[0], in[1], in[2], {}, 0.0, true);
      },
      {test::strided_leaf({2, 4, 3}, 4), test::strided_leaf({2, 5, 3}, 5),
       test::strided_leaf({2, 5, 2}, 6)});

  const Tensor q = test::leaf({2, 3, 4}, 1), k = test::leaf({2, 5, 4}, 2),
               v = test::leaf({2, 5, 3}, 3);
  // A bool mask keeps where true: the same as a float mask of 0 and -inf.
  const Tensor keep = sdpa_keep();
  const Tensor as_float = zeros({3, 5}, kFloat64).masked_fill(keep.logical_not(), -kInf);
  CHECK(allclose(F::scaled_dot_product_attention(q, k, v, keep),
                 F::scaled_dot_product_attention(q, k, v, as_float)));
  // is_causal is the lower-triangle mask; scale replaces 1 / sqrt(E).
  const Tensor causal = full({5, 5}, -kInf, kFloat64).triu(1);
  CHECK(allclose(F::scaled_dot_product_attention(k, k, v, {}, 0.0, true),
                 explicit_attention(k, k, v, causal, 0.5)));
  CHECK(allclose(F::scaled_dot_product_attention(q, k, v, {}, 0.0, false, 0.3),
                 explicit_attention(q, k, v, {}, 0.3)));
  // Dropout of every weight leaves zeros; p = 0 changes nothing.
  CHECK(equal(F::scaled_dot_product_attention(q, k, v, {}, 1.0), zeros({2, 3, 3}, kFloat64)));
  CHECK(allclose(F::scaled_dot_product_attention(q, k, v, {}, 0.0),
                 explicit_attention(q, k, v, {}, 0.5)));
  // A query that may attend no key gets NaN, as in PyTorch.
  const Tensor row_1_blocked = bools({1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, {3, 5});
  const Tensor out = F::scaled_dot_product_attention(q, k, v, row_1_blocked);
  CHECK(isnan(out.select(1, 1)).sum().item<int64_t>() == 2 * 3);
  CHECK(isnan(out).sum().item<int64_t>() == 2 * 3);
}

TEST_CASE("MultiheadAttention matches PyTorch: self-attention, key padding, float attn_mask") {
  nn::MultiheadAttention mha(4, 2);
  fill(mha);
  const Tensor x = ramp({3, 2, 4}, 0.3, 0.1);
  const Tensor padding = bools({0, 0, 1, 0, 0, 0}, {2, 3});
  auto [output, weights] = mha(x, x, x, padding, true, ramp({3, 3}, 0.9, 0.3, true, false));
  CHECK(output.sizes() == Shape{3, 2, 4});
  CHECK(weights.sizes() == Shape{2, 3, 3});  // averaged over the heads
  check_against(*mha, {output, weights}, {x}, kMhaSelf);
}

TEST_CASE(
    "MultiheadAttention matches PyTorch: kdim, vdim, add_bias_kv, add_zero_attn, "
    "batch_first, 3-d bool attn_mask, weights per head") {
  nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(4, 2)
                                 .add_bias_kv(true)
                                 .add_zero_attn(true)
                                 .kdim(3)
                                 .vdim(5)
                                 .batch_first(true));
  fill(mha);
  const Tensor q = ramp({2, 3, 4}, 0.3, 0.1), k = ramp({2, 4, 3}, 0.4, 0.7, true),
               v = ramp({2, 4, 5}, 0.5, 0.2);
  // arange(48) % 3 == 1, true: blocked.
  std::vector<int64_t> every_third(4 * 3 * 4);
  for (size_t i = 0; i < every_third.size(); ++i) every_third[i] = i % 3 == 1;
  const Tensor blocked = bools(every_third, {4, 3, 4});
  const Tensor padding = bools({0, 0, 0, 1, 0, 1, 0, 0}, {2, 4});
  auto [output, weights] = mha(q, k, v, padding, true, blocked, false);
  CHECK(output.sizes() == Shape{2, 3, 4});
  CHECK(weights.sizes() == Shape{2, 2, 3, 6});  // [N, H, L, S + bias_k + zero]
  check_against(*mha, {output, weights}, {q, k, v}, kMhaKdimVdim);
}

TEST_CASE(
    "MultiheadAttention matches PyTorch: encoder-decoder attention, unbatched, no bias, "
    "float key padding; need_weights false") {
  nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(4, 2).bias(false));
  fill(mha);
  const Tensor q = ramp({3, 4}, 0.3, 0.1), kv = ramp({2, 4}, 0.4, 0.7, true);
  const Tensor padding = tensor({0.0, -1.5}, kFloat64);
  auto [output, weights] = mha(q, kv, kv, padding);
  CHECK(weights.sizes() == Shape{3, 2});
  auto [same_output, no_weights] = mha(q.detach(), kv.detach(), kv.detach(), padding, false);
  CHECK_FALSE(no_weights.defined());
  CHECK(allclose(same_output, output.detach()));
  check_against(*mha, {output, weights}, {q, kv}, kMhaCrossUnbatched);
}

TEST_CASE("MultiheadAttention: gradcheck, projections by identity, masks combined") {
  nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(4, 2).add_bias_kv(true));
  mha->to(kFloat64);
  const Tensor attn_mask = test::leaf({3, 4}, 7).detach(), padding = bools({0, 1, 0, 0}, {1, 4});
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        return std::get<0>(mha(in[0], in[1], in[2], padding, false, attn_mask));
      },
      {test::leaf({3, 1, 4}, 1), test::strided_leaf({4, 1, 4}, 2), test::leaf({4, 1, 4}, 3)},
      false);
  // The same tensor as query, key and value takes the one-product path, distinct tensors the
  // three-product path: the same numbers.
  const Tensor x = test::leaf({3, 2, 4}, 4).detach();
  const auto [packed, packed_weights] = mha(x, x, x);
  const auto [separate, separate_weights] = mha(x, x.clone(), x.clone());
  CHECK(allclose(packed, separate));
  CHECK(allclose(packed_weights, separate_weights));
  // Bool masks block where true; a float mask adds. Both masks together add up.
  const Tensor blocked = bools({0, 1, 0, 0, 0, 0, 1, 0, 0}, {3, 3});
  const Tensor blocked_float = zeros({3, 3}, kFloat64).masked_fill(blocked, -kInf);
  const Tensor kpm = bools({0, 0, 1, 0, 0, 0}, {2, 3});
  const Tensor kpm_float = zeros({2, 3}, kFloat64).masked_fill(kpm, -kInf);
  CHECK(allclose(std::get<0>(mha(x, x, x, kpm, true, blocked)),
                 std::get<0>(mha(x, x, x, kpm_float, true, blocked_float))));
  CHECK(allclose(
      std::get<0>(mha(x, x, x, kpm, true, blocked)),
      std::get<0>(mha(x, x, x, Tensor(), true,
                      blocked_float.unsqueeze(0) +
                          kpm_float.view({2, 1, 1, 3}).expand({2, 2, 1, 3}).reshape({4, 1, 3})))));
  // A query whose keys are all padding gets NaN, as in PyTorch (bias_k would give it one key).
  nn::MultiheadAttention plain(4, 2);
  plain->to(kFloat64);
  const auto [all_padding, nan_weights] = plain(x, x, x, bools({0, 0, 0, 1, 1, 1}, {2, 3}));
  CHECK(isnan(all_padding.select(1, 1)).sum().item<int64_t>() == 3 * 4);
  CHECK(isnan(all_padding.select(1, 0)).sum().item<int64_t>() == 0);
}

TEST_CASE(
    "MultiheadAttention without the weights (one fused op) gives the composition's outputs "
    "and gradients") {
  const Tensor x = test::leaf({5, 3, 8}, 1).detach(), memory = test::leaf({4, 3, 8}, 2).detach();
  const Tensor padding = bools({0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0}, {3, 4});
  const Tensor causal = full({5, 5}, -kInf, kFloat64).triu(1);
  for (const auto& options :
       {nn::MultiheadAttentionOptions(8, 2), nn::MultiheadAttentionOptions(8, 4).dropout(0.3),
        nn::MultiheadAttentionOptions(8, 2).add_bias_kv(true).add_zero_attn(true).kdim(6).vdim(5),
        nn::MultiheadAttentionOptions(8, 2).bias(false).batch_first(true)}) {
    nn::MultiheadAttention mha(options);
    mha->to(kFloat64);
    const bool separate = options.kdim() != 8;
    // Batch-first layers take the same sequences transposed.
    const auto layout = [&](const Tensor& t) {
      return options.batch_first() ? t.transpose(0, 1) : t;
    };
    const Tensor query = layout(x), keys = layout(separate ? memory.narrow(2, 0, 6) : memory),
                 values = layout(separate ? memory.narrow(2, 0, 5) : memory);
    const Tensor self_keys = separate ? layout(x.narrow(2, 0, 6)) : query;
    const Tensor self_values = separate ? layout(x.narrow(2, 0, 5)) : query;
    // Self-attention ({qkv}), encoder-decoder ({q, kv}) or separate projections, with masks.
    const auto run = [&](bool need_weights) {
      std::vector<Tensor> results;
      manual_seed(4);
      results.push_back(
          std::get<0>(mha(query, self_keys, self_values, Tensor(), need_weights, causal)));
      results.push_back(std::get<0>(mha(query, keys, values, padding, need_weights)));
      Tensor loss = zeros({}, kFloat64);
      for (const Tensor& r : results) loss = loss + (r * r.cos()).sum();
      const auto grads = autograd::grad({loss}, mha->parameters());
      results.insert(results.end(), grads.begin(), grads.end());
      return results;
    };
    const auto fused = run(false), composed = run(true);
    for (size_t i = 0; i < fused.size(); ++i) {
      INFO("result ", i);
      test::check_close(fused[i], test::values(composed[i]), 1e-10, 1e-12);
    }
  }
}

TEST_CASE("MultiheadAttention: parameter names, shapes and initialization are PyTorch's") {
  // [(n, list(p.shape)) for n, p in nn.MultiheadAttention(4, 2).named_parameters()], and with
  // add_bias_kv=True, kdim=3, vdim=5.
  const auto names_and_shapes = [](const nn::Module& module) {
    std::vector<std::pair<std::string, Shape>> result;
    for (const auto& item : module.named_parameters()) {
      result.emplace_back(item.key(), item.value().sizes());
    }
    return result;
  };
  const std::vector<std::pair<std::string, Shape>> packed = {{"in_proj_weight", {12, 4}},
                                                             {"in_proj_bias", {12}},
                                                             {"out_proj.weight", {4, 4}},
                                                             {"out_proj.bias", {4}}};
  CHECK(names_and_shapes(*nn::MultiheadAttention(4, 2)) == packed);
  const std::vector<std::pair<std::string, Shape>> separate = {
      {"q_proj_weight", {4, 4}},   {"k_proj_weight", {4, 3}}, {"v_proj_weight", {4, 5}},
      {"in_proj_bias", {12}},      {"bias_k", {1, 1, 4}},     {"bias_v", {1, 1, 4}},
      {"out_proj.weight", {4, 4}}, {"out_proj.bias", {4}}};
  nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(4, 2).add_bias_kv(true).kdim(3).vdim(5));
  CHECK(names_and_shapes(*mha) == separate);
  CHECK(nn::MultiheadAttention(nn::MultiheadAttentionOptions(4, 2).bias(false))
            ->named_parameters()
            .keys() == std::vector<std::string>{"in_proj_weight", "out_proj.weight"});
  // xavier_uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)); zero biases.
  nn::MultiheadAttention big(64, 4);
  const double bound = std::sqrt(6.0 / (64 + 3 * 64));
  CHECK(big->in_proj_weight.abs().max().item<double>() <= bound);
  CHECK(big->in_proj_weight.abs().max().item<double>() > 0.9 * bound);
  CHECK(big->in_proj_bias.abs().max().item<double>() == 0.0);
  CHECK(big->out_proj->bias.abs().max().item<double>() == 0.0);
  CHECK(big->head_dim == 16);
  // bias_k, bias_v: xavier_normal of a [1, 1, E] tensor, std sqrt(2 / (E + E)).
  CHECK(mha->bias_k.abs().max().item<double>() > 0.0);
}

TEST_CASE(
    "MultiheadAttention loads a safetensors file written by PyTorch and reproduces its "
    "outputs") {
  // import json, struct, torch
  // def write(module, path):  # the safetensors layout, written by hand
  //     header, blobs, offset = {}, [], 0
  //     for name, t in module.state_dict().items():
  //         data = t.contiguous().numpy().tobytes()
  //         header[name] = {"dtype": "F32", "shape": list(t.shape),
  //                         "data_offsets": [offset, offset + len(data)]}
  //         blobs.append(data); offset += len(data)
  //     header["__metadata__"] = {"format": "pt"}
  //     h = json.dumps(header, separators=(",", ":")).encode()
  //     h += b" " * ((8 - len(h) % 8) % 8)
  //     open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
  // def ramp(n, a, b): return 0.5 * torch.cos(a * torch.arange(float(n)) + b)
  // torch.manual_seed(0)
  // mha = torch.nn.MultiheadAttention(4, 2, kdim=3, vdim=5, add_bias_kv=True)
  // write(mha, "mha.safetensors")   # its bytes are kMhaFile
  // q, k, v = (ramp(12, 0.3, 0.1).reshape(3, 1, 4), ramp(6, 0.4, 0.2).reshape(2, 1, 3),
  //            ramp(10, 0.5, 0.3).reshape(2, 1, 5))
  // out, w = mha(q, k, v)            # printed below
  nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(4, 2).kdim(3).vdim(5).add_bias_kv(true));
  CHECK(test::load_file_bytes(mha, kMhaFile, sizeof(kMhaFile)).at("format") == "pt");
  const auto ramp32 = [](int64_t n, double a, double b) { return (arange(n) * a + b).cos() * 0.5; };
  auto [output, weights] =
      mha(ramp32(12, 0.3, 0.1).reshape({3, 1, 4}), ramp32(6, 0.4, 0.2).reshape({2, 1, 3}),
          ramp32(10, 0.5, 0.3).reshape({2, 1, 5}));
  test::check_close(output,
                    {-0.011105221, 0.033194888, 0.002429876, 0.081958473, -0.030588569, 0.018990409,
                     -0.009135369, 0.092190951, -0.0453838, 0.000522216, -0.018755719, 0.09577845},
                    1e-5, 1e-7);
  test::check_close(weights,
                    {0.352576077, 0.335346758, 0.312077165, 0.339628041, 0.312589169, 0.347782791,
                     0.322037965, 0.304988056, 0.372974008},
                    1e-5, 1e-7);
}

TEST_CASE("MultiheadAttention dropout: drawn in training (weights 0 or w / (1 - p)), off in eval") {
  nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(8, 2).dropout(0.5));
  const Tensor x = randn({5, 3, 8});
  mha->eval();
  const auto [eval_output, eval_weights] = mha(x, x, x, Tensor(), true, Tensor(), false);
  mha->train();
  manual_seed(3);
  const auto [train_output, train_weights] = mha(x, x, x, Tensor(), true, Tensor(), false);
  CHECK_FALSE(allclose(train_output, eval_output));
  const Tensor kept = train_weights != 0.0;
  CHECK(allclose(train_weights.masked_select(kept), (eval_weights * 2.0).masked_select(kept)));
  const double kept_share = kept.to(kFloat32).mean().item<double>();
  CHECK(kept_share > 0.3);
  CHECK(kept_share < 0.7);
  // Training with p = 0 is eval.
  nn::MultiheadAttention no_dropout(8, 2);
  const auto [a, a_weights] = no_dropout(x, x, x);
  no_dropout->eval();
  CHECK(allclose(a, std::get<0>(no_dropout(x, x, x))));
}

TEST_CASE("AnyModule and Sequential hold MultiheadAttention") {
  nn::AnyModule any(nn::MultiheadAttention(8, 2));
  const Tensor x = randn({5, 3, 8});
  using Result = std::tuple<Tensor, Tensor>;
  // The defaults declared with BG_FORWARD_DEFAULT_ARGS fill the masks and flags left out.
  const auto [output, weights] = any.forward<Result>(x, x, x);
  CHECK(output.sizes() == Shape{5, 3, 8});
  CHECK(weights.sizes() == Shape{3, 5, 5});
  const auto [padded, none] = any.forward<Result>(x, x, x, zeros({3, 5}, kBool), false);
  CHECK_FALSE(none.defined());
  CHECK(allclose(padded, output));
  check_error({"AnyModule", "MultiheadAttentionImpl",
               "takes (bg::Tensor, bg::Tensor, bg::Tensor, "
               "bg::Tensor, bool, bg::Tensor, bool)",
               "called with (bg::Tensor)"},
              [&] { any.forward<Result>(x); });
  // In a chain, a module after it takes the tuple.
  struct OutputOnlyImpl : nn::Module {
    Tensor forward(const Result& result) { return std::get<0>(result); }
  };
  nn::Sequential chain(nn::MultiheadAttention(8, 2), std::make_shared<OutputOnlyImpl>(),
                       nn::Linear(8, 1));
  CHECK(chain->forward(x, x, x).sizes() == Shape{5, 3, 1});
}

TEST_CASE("attention errors name the op, the shapes and the dtypes") {
  const Tensor q = zeros({2, 3, 4}), k = zeros({2, 5, 4}), v = zeros({2, 5, 6});
  check_error({"scaled_dot_product_attention", "expected query [..., L, E], key [..., S, E]",
               "float32[2, 5, 3]"},
              [&] {
                F::scaled_dot_product_attention(q, zeros({2, 5, 3}), v);
              });
  check_error({"scaled_dot_product_attention", "is_causal and attn_mask exclude each other"}, [&] {
    F::scaled_dot_product_attention(q, k, v, zeros({3, 5}), 0.0, true);
  });
  check_error({"scaled_dot_product_attention", "bool mask or a float mask of the query's dtype",
               "int64[3, 5]"},
              [&] {
                F::scaled_dot_product_attention(q, k, v, zeros({3, 5}, kInt64));
              });
  check_error({"scaled_dot_product_attention", "attn_mask", "float32[4, 5]",
               "does not broadcast to the scores [2, 3, 5]"},
              [&] {
                F::scaled_dot_product_attention(q, k, v, zeros({4, 5}));
              });
  check_error({"scaled_dot_product_attention", "dropout probability", "[0, 1]"},
              [&] { F::scaled_dot_product_attention(q, k, v, {}, 1.5); });
  check_error({"scaled_dot_product_attention", "one dtype", "float64[2, 5, 4]"}, [&] {
    F::scaled_dot_product_attention(q, zeros({2, 5, 4}, kFloat64), v);
  });

  check_error({"MultiheadAttention", "embed_dim 6 must be divisible by num_heads 4"},
              [] { nn::MultiheadAttention(6, 4); });
  nn::MultiheadAttention mha(4, 2);
  const Tensor x = zeros({3, 2, 4});
  check_error({"MultiheadAttention", "expected query [L, N, 4]", "float32[3, 2, 5]"}, [&] {
    mha(zeros({3, 2, 5}), x, x);
  });
  check_error({"MultiheadAttention", "all 3-d (batched) or all 2-d", "float32[3, 4]"}, [&] {
    mha(x, zeros({3, 4}), x);
  });
  check_error({"MultiheadAttention", "expected attn_mask [3, 3] or [4, 3, 3]", "bool[2, 3, 3]"},
              [&] {
                mha(x, x, x, Tensor(), true, zeros({2, 3, 3}, kBool));
              });
  check_error({"MultiheadAttention", "expected key_padding_mask [2, 3]", "bool[3, 2]"}, [&] {
    mha(x, x, x, zeros({3, 2}, kBool));
  });
  check_error(
      {"MultiheadAttention", "key_padding_mask", "float mask of the query's dtype", "int64[2, 3]"},
      [&] {
        mha(x, x, x, zeros({2, 3}, kInt64));
      });
  check_error({"MultiheadAttention", "float64[3, 2, 4]", "does not match the parameters"}, [&] {
    mha(zeros({3, 2, 4}, kFloat64), x, x);
  });
}
